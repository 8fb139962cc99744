"""Versions of a connection's settings and mappings: the list, any two side by side
with the differences marked, and the rollback to one (a new version, validated like
any change). Versions are append-only: no add, change or delete here."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.views.decorators.http import require_http_methods

from ..connection.documents import rollback
from ..connection.versions import diff, snapshot
from ..exceptions import QBOSyncError
from ..models import MappingVersion
from . import display
from .base import ReadOnlyAdmin, ScopedRelatedFilter, check_workspace


class RollbackForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, label="Note (optional)",
                           widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                           help_text="Why you roll back; kept with the new version.")


def _number(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


@admin.register(MappingVersion)
class MappingVersionAdmin(ReadOnlyAdmin):
    workspace_lookup = "connection__workspace"
    list_display = ["number", "connection", "created_at", "user", "note_short", "restored",
                    "compare"]
    list_display_links = ["number"]
    list_filter = [("connection", ScopedRelatedFilter), "created_at"]
    search_fields = ["note", "user__username"]
    list_select_related = ["connection", "user", "restored_from"]
    fields = ["connection", "number", "created_at", "user", "note", "restored", "compare",
              "snapshot_pretty"]
    readonly_fields = fields
    change_form_template = "admin/qbo_sync/mappingversion/change_form.html"

    @admin.display(description="Note")
    def note_short(self, version: MappingVersion) -> str:
        return Truncator(version.note).chars(80) or "—"

    @admin.display(description="Rollback of")
    def restored(self, version: MappingVersion) -> str:
        return f"version {version.restored_from.number}" if version.restored_from else "—"

    @admin.display(description="Compare")
    def compare(self, version: MappingVersion) -> str:
        previous = getattr(version, "previous_pk", None)
        if previous is None:
            return "—"
        url = reverse("admin:qbo_sync_mappingversion_compare")
        return format_html('<a href="{}?a={}&amp;b={}">with version {}</a>', url, previous,
                           version.pk, version.number - 1)

    def get_queryset(self, request: HttpRequest) -> QuerySet[MappingVersion]:
        # The version before each one, in the same query (the Compare column).
        before = MappingVersion.objects.filter(connection_id=OuterRef("connection_id"),
                                               number=OuterRef("number") - 1)
        return super().get_queryset(request).annotate(
            previous_pk=Subquery(before.values("pk")[:1]))

    @admin.display(description="Settings and mappings")
    def snapshot_pretty(self, version: MappingVersion) -> str:
        return display.pretty_json(version.snapshot)

    # Screens ---------------------------------------------------------------------------

    def get_urls(self):
        compare = self.admin_site.admin_view(self.compare_view)
        undo = self.admin_site.admin_view(require_http_methods(["GET", "POST"])(
            self.rollback_view))
        return [path("compare/", compare, name="qbo_sync_mappingversion_compare"),
                path("<path:object_id>/rollback/", undo, name="qbo_sync_mappingversion_rollback"),
                *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None):
        version = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if version is not None and self.has_rollback_permission(request):
            context["rollback_url"] = reverse("admin:qbo_sync_mappingversion_rollback",
                                              args=[version.pk])
        return super().change_view(request, object_id, form_url, context)

    def has_rollback_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("qbo_sync.change_connection")

    def _versions(self, request: HttpRequest) -> QuerySet[MappingVersion]:
        return self.get_queryset(request).select_related("connection", "user")

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        """Two versions (``?a=<id>&b=<id>``) side by side, every setting and mapping,
        the differing rows marked; ``only=1`` shows the differences only."""
        if not self.has_view_permission(request):
            raise PermissionDenied("You may not view mapping versions.")
        versions = self._versions(request)
        a = versions.filter(pk=_number(request.GET.get("a"))).first()
        b = versions.filter(pk=_number(request.GET.get("b"))).first()
        problem = ""
        if a is None or b is None:
            problem = "Choose two versions to compare (a and b)."
        elif a.connection_id != b.connection_id:
            problem = ("The two versions belong to different connections; choose two "
                       "versions of the same connection.")
        rows = [] if problem else diff(a.snapshot, b.snapshot)
        only = request.GET.get("only") == "1"
        conn = (a or b).connection if (a or b) else None
        choices = list(versions.filter(connection=conn).order_by("-number")) if conn else []
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": (f"Compare versions {a.number} and {b.number}" if not problem
                      else "Compare versions"),
            "a": a, "b": b, "problem": problem, "only": only, "choices": choices,
            "rows": [r for r in rows if r["change"] or not only],
            "changed": sum(1 for r in rows if r["change"]), "connection": conn,
            "left": f"Version {a.number}" if a else "", "right": f"Version {b.number}" if b else "",
        }
        response = TemplateResponse(request, "admin/qbo_sync/mappingversion/compare.html",
                                    context)
        if problem:
            response.status_code = 400
        return response

    def rollback_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: what the rollback would change and a note; POST: roll back."""
        if not self.has_rollback_permission(request):
            raise PermissionDenied("You may not change QuickBooks settings.")
        version = get_object_or_404(self._versions(request), pk=_number(object_id))
        conn = version.connection
        check_workspace(request, conn.workspace)
        form = RollbackForm(request.POST if request.method == "POST" else None)
        here = reverse("admin:qbo_sync_mappingversion_change", args=[version.pk])
        if request.method == "POST" and form.is_valid():
            try:
                new = rollback(conn, version, user=request.user, note=form.cleaned_data["note"])
            except QBOSyncError as exc:
                self.message_user(request, f"Not rolled back: {exc.explained()}",
                                  messages.ERROR)
                return HttpResponseRedirect(here)
            self.message_user(
                request, f"Rolled back to version {version.number}: the settings and "
                f"mappings are now version {new.number}." if new else
                f"Rolled back to version {version.number}.", messages.SUCCESS)
            target = (reverse("admin:qbo_sync_mappingversion_change", args=[new.pk])
                      if new else here)
            return HttpResponseRedirect(target)
        rows = [r for r in diff(snapshot(conn), version.snapshot) if r["change"]]
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": f"Roll back {conn.workspace} to version {version.number}?",
            "version": version, "connection": conn, "rows": rows, "form": form,
            "version_url": here,
        }
        return TemplateResponse(request, "admin/qbo_sync/mappingversion/rollback.html", context)
