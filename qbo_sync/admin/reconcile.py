"""Reconciliation runs and the differences they found: counts by kind, both sides'
values, the repairs that fit, ignore with a reason, and a CSV export
(docs/reconciliation.md)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ..exceptions import QBOSyncError
from ..models import Difference, ReconciliationRun
from ..permissions import can_manage
from ..reconcile.compare import ACCEPT, LINK, PUSH, VOID
from ..reconcile.repair import ignore, repair
from . import display
from .base import ReadOnlyAdmin, ScopedAdmin, ScopedRelatedFilter, ScopedValuesFilter

_COLOURS = {
    ReconciliationRun.Status.DONE: display.GREEN,
    ReconciliationRun.Status.FAILED: display.RED,
    ReconciliationRun.Status.RUNNING: display.AMBER,
    ReconciliationRun.Status.QUEUED: display.GREY,
}
CSV_COLUMNS = ["run", "kind", "label", "qbo_id", "state", "explanation", "app_value",
               "qbo_value", "repairs", "resolution"]


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    workspace_lookup = "connection__workspace"
    list_display = ["id", "connection", "status_badge", "progress", "found_by_kind", "cost",
                    "trigger", "user", "created_at"]
    list_filter = ["status", "trigger", ("connection__workspace", ScopedValuesFilter),
                   "created_at"]
    list_select_related = ["connection", "user"]
    fields = ["connection", "status_badge", "progress", "found_by_kind", "differences_link",
              "cost", "in_flight", "ignored", "fix", "repaired", "since", "trigger", "error",
              "user", "created_at", "started_at", "finished_at"]
    readonly_fields = fields
    change_form_template = "admin/qbo_sync/historicalrun/change_form.html"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, run: ReconciliationRun) -> str:
        return display.badge(run.get_status_display(), _COLOURS.get(run.status, display.GREY))

    @admin.display(description="Progress")
    def progress(self, run: ReconciliationRun) -> str:
        return display.progress_bar(run.percent)

    @admin.display(description="Differences")
    def found_by_kind(self, run: ReconciliationRun) -> str:
        if not run.counts:
            return "none" if run.status == ReconciliationRun.Status.DONE else "–"
        url = reverse("admin:qbo_sync_difference_changelist")
        return format_html_join(
            ", ", '<a href="{}?run__id__exact={}&kind__exact={}">{} {}</a>',
            ((url, run.pk, kind, n, _label(kind)) for kind, n in sorted(run.counts.items())))

    @admin.display(description="All differences")
    def differences_link(self, run: ReconciliationRun) -> str:
        url = reverse("admin:qbo_sync_difference_changelist")
        return format_html('<a href="{}?run__id__exact={}">The {} differences of this run</a>',
                           url, run.pk, run.found)

    @admin.display(description="QuickBooks calls")
    def cost(self, run: ReconciliationRun) -> str:
        per = run.calls_per_thousand
        return f"{run.calls}" + (f" ({per} per 1,000 records)" if per is not None else "")

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None):
        run = self.get_object(request, object_id)
        active = run is not None and run.status in (ReconciliationRun.Status.QUEUED,
                                                    ReconciliationRun.Status.RUNNING)
        context = {"auto_refresh_seconds": 2 if active else 0, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)


def _label(kind: str) -> str:
    return str(dict(Difference._meta.get_field("kind").choices).get(kind, kind)).lower()


@admin.register(Difference)
class DifferenceAdmin(ScopedAdmin):
    workspace_lookup = "connection__workspace"
    list_display = ["label", "kind", "explanation", "both_sides", "state", "offered"]
    list_filter = ["kind", "state", ("run", ScopedRelatedFilter),
                   ("connection__workspace", ScopedValuesFilter)]
    search_fields = ["label", "explanation", "qbo_id"]
    list_select_related = ["connection", "run"]
    list_per_page = 100
    actions = ["repair_safe", "push_selected", "accept_selected", "link_selected",
               "void_selected", "ignore_selected", "export_csv"]
    fields = ["run", "kind", "label", "qbo_id", "explanation", "app_pretty", "qbo_pretty",
              "offered", "safe_repair", "state", "resolution", "resolved_by", "resolved_at",
              "jobs_link"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        context = {"title": "Differences found by reconciliation", **(extra_context or {})}
        return super().changelist_view(request, context)

    def has_repair_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("qbo_sync.change_difference")

    @admin.display(description="App / QuickBooks")
    def both_sides(self, diff: Difference) -> str:
        return format_html("{}<br>{}", _short(diff.app_value), _short(diff.qbo_value))

    @admin.display(description="Repairs")
    def offered(self, diff: Difference) -> str:
        return ", ".join(r + (" (safe)" if r == diff.safe_repair else "")
                         for r in diff.repairs or [])

    @admin.display(description="The app")
    def app_pretty(self, diff: Difference) -> str:
        return display.pretty_json(diff.app_value)

    @admin.display(description="QuickBooks")
    def qbo_pretty(self, diff: Difference) -> str:
        return display.pretty_json(diff.qbo_value)

    @admin.display(description="Repair jobs")
    def jobs_link(self, diff: Difference) -> str:
        ids = list(diff.jobs.values_list("pk", flat=True))
        return format_html_join(", ", '<a href="{}">job {}</a>', (
            (reverse("admin:qbo_sync_syncjob_change", args=[pk]), pk) for pk in ids)) or "–"

    # Actions -------------------------------------------------------------------------

    def _apply(self, request: HttpRequest, queryset: QuerySet[Difference],
               pick: Any) -> None:
        outcome: Counter[str] = Counter()
        refused: list[str] = []
        for diff in queryset.select_related("connection"):
            action = pick(diff)
            if not can_manage(request.user, diff.connection.workspace):
                refused.append(f"{diff.label}: not your workspace")
                continue
            if not action:
                outcome["not offered"] += 1
                continue
            try:
                repair(diff, action, user=request.user)
            except QBOSyncError as exc:
                refused.append(f"{diff.label}: {exc}")
                continue
            outcome[action] += 1
        if sum(n for k, n in outcome.items() if k != "not offered"):
            done = ", ".join(f"{n} × {k}" for k, n in outcome.items() if k != "not offered")
            self.message_user(request, f"Repairs queued: {done}. They show in Sync Health.",
                              messages.SUCCESS)
        if outcome["not offered"]:
            self.message_user(request, f"{outcome['not offered']} selected difference(s) "
                              "have no such repair; they were left open.", messages.WARNING)
        if refused:
            self.message_user(request, "Not repaired: " + "; ".join(refused), messages.WARNING)

    @admin.action(description="Repair all safe ones", permissions=["repair"])
    def repair_safe(self, request: HttpRequest, queryset: QuerySet[Difference]) -> None:
        self._apply(request, queryset.filter(state=Difference.State.OPEN),
                    lambda d: d.safe_repair)

    def _offered(self, action: str) -> Any:
        return lambda d: action if action in (d.repairs or []) else ""

    @admin.action(description="Push the app's version again", permissions=["repair"])
    def push_selected(self, request: HttpRequest, queryset: QuerySet[Difference]) -> None:
        self._apply(request, queryset, self._offered(PUSH))

    @admin.action(description="Accept QuickBooks' version into the app", permissions=["repair"])
    def accept_selected(self, request: HttpRequest, queryset: QuerySet[Difference]) -> None:
        self._apply(request, queryset, self._offered(ACCEPT))

    @admin.action(description="Link to the QuickBooks invoice", permissions=["repair"])
    def link_selected(self, request: HttpRequest, queryset: QuerySet[Difference]) -> None:
        self._apply(request, queryset, self._offered(LINK))

    @admin.action(description="Void in QuickBooks", permissions=["repair"])
    def void_selected(self, request: HttpRequest, queryset: QuerySet[Difference]) -> None:
        self._apply(request, queryset, self._offered(VOID))

    @admin.action(description="Ignore, with a reason", permissions=["repair"])
    def ignore_selected(self, request: HttpRequest,
                        queryset: QuerySet[Difference]) -> HttpResponse | None:
        chosen = [d for d in queryset.select_related("connection")
                  .filter(state=Difference.State.OPEN)
                  if can_manage(request.user, d.connection.workspace)]
        reason, error = request.POST.get("reason") or "", ""
        if "apply" in request.POST:
            try:
                for diff in chosen:
                    ignore(diff, user=request.user, reason=reason)
            except QBOSyncError as exc:
                error = exc.explained()
            else:
                self.message_user(request, f"{len(chosen)} difference(s) ignored: "
                                  f"{reason.strip()}", messages.SUCCESS)
                return None
        return TemplateResponse(request, "admin/qbo_sync/difference/ignore.html", {
            **self.admin_site.each_context(request), "title": "Ignore differences",
            "differences": chosen, "back": request.get_full_path(), "error": error,
        })

    @admin.action(description="Export selected as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Difference]) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="differences.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for diff in queryset.order_by("run", "kind", "pk"):
            writer.writerow(csv_row(diff))
        return response


def csv_row(diff: Difference) -> list[str]:
    """One difference as CSV cells; a cell that a spreadsheet would run as a formula
    is prefixed with an apostrophe (values from QuickBooks are not ours to trust)."""
    cells = [str(diff.run_id), diff.kind, diff.label, diff.qbo_id, diff.state,
             diff.explanation, json.dumps(diff.app_value, sort_keys=True),
             json.dumps(diff.qbo_value, sort_keys=True), " ".join(diff.repairs or []),
             diff.resolution]
    return ["'" + c if c[:1] in ("=", "+", "-", "@", "\t", "\r") else c for c in cells]


def _short(values: dict) -> str:
    text = ", ".join(f"{k}: {v}" for k, v in (values or {}).items())
    return text if len(text) <= 80 else text[:79] + "…"
