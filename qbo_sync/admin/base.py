"""Workspace scoping for every qbo_sync admin screen.

Django's model permissions say *what* a staff user may do; the host's
``QBO_SYNC["PERMISSION_CHECK"]`` says *which workspaces* they may do it in
(docs/architecture.md, invariant 8: no workspace sees another's data). Superusers see everything.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from ..models import Connection
from ..permissions import can_manage, resolve_workspace


def managed_workspaces(request: HttpRequest) -> set[str] | None:
    """Workspaces the user may manage; ``None`` means all (superusers)."""
    user = request.user
    if user.is_superuser:
        return None
    cached = getattr(request, "_qbo_managed_workspaces", None)
    if cached is not None:
        return cached
    candidates = set(Connection.objects.values_list("workspace", flat=True))
    candidates.add(resolve_workspace(request))
    allowed = {ws for ws in candidates if can_manage(user, ws)}
    request._qbo_managed_workspaces = allowed  # type: ignore[attr-defined]
    return allowed


def check_workspace(request: HttpRequest, workspace: str) -> None:
    """Refuse (403) unless the user may manage ``workspace``."""
    if not can_manage(request.user, workspace):
        raise PermissionDenied("You may not manage this workspace's QuickBooks connection.")


class ScopedAdmin(admin.ModelAdmin):
    """Limits the changelist and every object view to the user's workspaces."""

    #: The lookup from this model to a workspace key.
    workspace_lookup = "workspace"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        allowed = managed_workspaces(request)
        if allowed is None:
            return qs
        return qs.filter(**{f"{self.workspace_lookup}__in": allowed})


class ReadOnlyAdmin(ScopedAdmin):
    """A screen that records what happened: it can be looked at, never edited."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
