"""Manual / historical sync runs with their progress (total / done / percent)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from ..models import HistoricalRun
from . import display
from .base import ReadOnlyAdmin, ScopedValuesFilter

_COLOURS = {
    HistoricalRun.Status.DONE: display.GREEN,
    HistoricalRun.Status.FAILED: display.RED,
    HistoricalRun.Status.RUNNING: display.AMBER,
    HistoricalRun.Status.QUEUED: display.GREY,
}


@admin.register(HistoricalRun)
class HistoricalRunAdmin(ReadOnlyAdmin):
    workspace_lookup = "connection__workspace"
    list_display = ["id", "connection", "kind", "since", "dry_run", "status_badge", "progress",
                    "counts", "user", "created_at"]
    list_filter = ["status", "kind", "dry_run", ("connection__workspace", ScopedValuesFilter),
                   "created_at"]
    list_select_related = ["connection", "user"]
    fields = ["connection", "kind", "since", "dry_run", "status_badge", "progress", "counts",
              "error", "user", "created_at", "finished_at", "jobs_link"]
    readonly_fields = fields
    change_form_template = "admin/qbo_sync/historicalrun/change_form.html"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, run: HistoricalRun) -> str:
        return display.badge(run.get_status_display(), _COLOURS.get(run.status, display.GREY))

    @admin.display(description="Progress")
    def progress(self, run: HistoricalRun) -> str:
        return display.progress_bar(run.percent)

    @admin.display(description="Done / total")
    def counts(self, run: HistoricalRun) -> str:
        return (f"{run.done} / {run.total} ({run.queued} queued, {run.skipped} skipped)")

    @admin.display(description="Sync Health")
    def jobs_link(self, run: HistoricalRun) -> str:
        url = reverse("admin:qbo_sync_syncjob_changelist")
        query = f"?workspace={run.connection.workspace}&entity={run.kind}"
        return format_html('<a href="{}{}">The {} jobs in Sync Health</a>', url, query, run.kind)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None):
        run = self.get_object(request, object_id)
        active = run is not None and run.status in (HistoricalRun.Status.QUEUED,
                                                    HistoricalRun.Status.RUNNING)
        # The page reloads itself while the run is going, so progress moves on its own.
        context = {"auto_refresh_seconds": 2 if active else 0, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        active = self.get_queryset(request).filter(
            status__in=[HistoricalRun.Status.QUEUED, HistoricalRun.Status.RUNNING]).exists()
        context = {"title": "Sync runs (manual and historical syncs)",
                   "auto_refresh_seconds": 3 if active else 0, **(extra_context or {})}
        return super().changelist_view(request, context)
