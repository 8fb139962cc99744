"""Default host hooks: which workspace a request acts on, and who may manage the
integration. Hosts replace them with ``QBO_SYNC["WORKSPACE_RESOLVER"]`` and
``QBO_SYNC["PERMISSION_CHECK"]``."""

from __future__ import annotations

from typing import Any

from .conf import app_settings


def default_workspace(request: Any) -> str:
    """Single-workspace installs: everything belongs to ``"default"``."""
    return "default"


def default_permission(user: Any, workspace: str) -> bool:
    """Staff users may manage the integration."""
    return bool(user and user.is_authenticated and user.is_staff)


def resolve_workspace(request: Any) -> str:
    return str(app_settings.callable("WORKSPACE_RESOLVER")(request))


def can_manage(user: Any, workspace: str) -> bool:
    return bool(app_settings.callable("PERMISSION_CHECK")(user, workspace))
