"""Customer imports: the "Import customers from QuickBooks" actions on a connection (a
dry run answered at once, a real import queued) and each run's counts and per-customer
outcomes (README "Customer import")."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ..exceptions import QBOSyncError
from ..imports.run import run_import, start_import
from ..models import ImportRun
from . import display, views
from .base import ReadOnlyAdmin, ScopedValuesFilter, check_workspace

_COLOURS = {
    ImportRun.Status.DONE: display.GREEN,
    ImportRun.Status.FAILED: display.RED,
    ImportRun.Status.RUNNING: display.AMBER,
    ImportRun.Status.QUEUED: display.GREY,
}
_SAYS = {"link": "linked to contact", "create": "created as contact",
         "ambiguous": "ambiguous: contacts", "skip": "skipped"}
#: Rows shown on a run's page (every row is in the API's run answer).
SHOWN = 500


def _start(admin_site: Any, request: HttpRequest, queryset: Any, *, dry_run: bool) -> Any:
    last = None
    for conn in queryset:
        check_workspace(request, conn.workspace)
        try:
            run = start_import(conn, dry_run=dry_run, trigger="admin", user=request.user,
                               queue=not dry_run)
        except QBOSyncError as exc:
            admin_site.message_user(request, views.explain(exc), messages.WARNING)
            continue
        if dry_run:
            run = run_import(run)  # reads only, one call per 1,000 customers
        url = reverse("admin:qbo_sync_importrun_change", args=[run.pk])
        what = "Dry run of the customer import" if dry_run else "Customer import"
        admin_site.message_user(request, format_html(
            '{} of {} {}: <a href="{}">see each customer here</a>.', what, conn.workspace,
            "done" if dry_run else "started", url), messages.SUCCESS)
        last = url
    if last and queryset.count() == 1:
        return HttpResponseRedirect(last)
    return None


@admin.action(description="Import customers from QuickBooks")
def import_customers(modeladmin: Any, request: HttpRequest, queryset: Any) -> Any:
    return _start(modeladmin, request, queryset, dry_run=False)


@admin.action(description="Import customers from QuickBooks: dry run (changes nothing)")
def import_customers_dry_run(modeladmin: Any, request: HttpRequest, queryset: Any) -> Any:
    return _start(modeladmin, request, queryset, dry_run=True)


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    workspace_lookup = "connection__workspace"
    list_display = ["id", "connection", "dry_run", "match", "status_badge", "progress",
                    "outcome_counts", "calls", "user", "created_at"]
    list_filter = ["status", "dry_run", "match",
                   ("connection__workspace", ScopedValuesFilter), "created_at"]
    list_select_related = ["connection", "user"]
    fields = ["connection", "dry_run", "match", "status_badge", "progress", "outcome_counts",
              "calls", "error", "per_customer", "trigger", "user", "created_at",
              "started_at", "finished_at"]
    readonly_fields = fields
    change_form_template = "admin/qbo_sync/historicalrun/change_form.html"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, run: ImportRun) -> str:
        return display.badge(run.get_status_display(), _COLOURS.get(run.status, display.GREY))

    @admin.display(description="Progress")
    def progress(self, run: ImportRun) -> str:
        return display.progress_bar(run.percent)

    @admin.display(description="Customers")
    def outcome_counts(self, run: ImportRun) -> str:
        verb = "would be " if run.dry_run else ""
        return (f"{run.total} read: {run.linked} {verb}linked, {run.created} {verb}created, "
                f"{run.ambiguous} ambiguous, {run.skipped} skipped")

    @admin.display(description="Each customer")
    def per_customer(self, run: ImportRun) -> str:
        rows = run.results[:SHOWN]
        if not rows:
            return "–"
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{} {}</td><td>{}</td></tr>",
            ((qbo_id, name, _SAYS.get(outcome, outcome), keys, note)
             for qbo_id, name, outcome, keys, note in rows))
        more = (format_html("<p>The first {} of {}; the API's run answer has them all.</p>",
                            SHOWN, len(run.results)) if len(run.results) > SHOWN else "")
        return format_html(
            "<table><thead><tr><th>QuickBooks Id</th><th>Customer</th><th>Outcome"
            "</th><th>Note</th></tr></thead><tbody>{}</tbody></table>{}", body, more)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None):
        run = self.get_object(request, object_id)
        active = run is not None and run.status in (ImportRun.Status.QUEUED,
                                                    ImportRun.Status.RUNNING)
        # The page reloads itself while the run is going, so progress moves on its own.
        context = {"auto_refresh_seconds": 2 if active else 0, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)
