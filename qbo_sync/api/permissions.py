"""Who may use the QuickBooks API: the host decides through
``QBO_SYNC["PERMISSION_CHECK"]`` (e.g. workspace admins and managers), for the workspace
``QBO_SYNC["WORKSPACE_RESOLVER"]`` picks for the request."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from ..models import OAuthState
from ..permissions import can_manage, resolve_workspace


def request_workspace(request: Any) -> str:
    """The workspace the request acts on, resolved once per request."""
    cached = getattr(request, "_qbo_workspace", None)
    if cached is None:
        cached = resolve_workspace(request)
        request._qbo_workspace = cached
    return cached


class CanManageIntegration(BasePermission):
    """Authenticated, and allowed to manage the integration of the request's workspace."""

    message = ("You may not manage QuickBooks for this workspace. Ask a workspace admin "
               "or manager.")

    def has_permission(self, request: Any, view: Any) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        return can_manage(user, request_workspace(request))


class CanManageCallbackWorkspace(CanManageIntegration):
    """For the OAuth callback: the workspace is the one bound to the ``state`` when the
    user clicked Connect, not whatever the request would resolve to now."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        state = request.data.get("state") if hasattr(request.data, "get") else None
        # A state no database can compare (NUL; PostgreSQL raises) is looked up nowhere:
        # the callback serializer then answers 400 for it.
        readable = isinstance(state, str) and state and "\x00" not in state
        started = OAuthState.objects.filter(state=state).first() if readable else None
        workspace = started.workspace if started else request_workspace(request)
        return can_manage(user, workspace)
