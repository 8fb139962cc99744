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
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils.html import escape

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


NUL_IN_QUERY = ("A search or filter value contains a NUL character (\\x00 or %00), which "
                "no database text column can hold: remove it from the address and load "
                "the page again.")


def nul_in_query(request: HttpRequest) -> bool:
    """Whether a query parameter (name or value) holds a NUL character: PostgreSQL
    refuses such text with an error, so the screen answers 400 before any query."""
    return any("\x00" in key or any("\x00" in value for value in values)
               for key, values in request.GET.lists())


class CheckedQueryAdmin(admin.ModelAdmin):
    """A changelist whose search and filter values are checked before they reach the
    database: a value no database can compare is a 400 with a message, not a 500."""

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict | None = None) -> HttpResponse:
        if nul_in_query(request):
            return HttpResponseBadRequest(escape(NUL_IN_QUERY))
        return super().changelist_view(request, extra_context)


class ScopedValuesFilter(admin.AllValuesFieldListFilter):
    """The values of a field across a relation (``connection__workspace``), read from
    the screen's own queryset: Django's filter reads the related table whole, which
    would list other workspaces in the sidebar (invariant 8)."""

    def __init__(self, field: Any, request: HttpRequest, params: Any, model: Any,
                 model_admin: Any, field_path: str) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = (model_admin.get_queryset(request).distinct()
                               .order_by(field_path).values_list(field_path, flat=True))


#: The related-object filter limited to objects the screen's own rows point at (Django's
#: plain one lists every row of the related table, other workspaces' too).
ScopedRelatedFilter = admin.RelatedOnlyFieldListFilter


class ScopedAdmin(CheckedQueryAdmin):
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
