"""Sync Health: every SyncJob, read-only apart from Retry (per row and in bulk)."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from ..models import SyncAttempt, SyncJob
from ..permissions import can_manage
from ..sync import actors
from ..sync.outbox import retry_job
from . import display
from .base import ReadOnlyAdmin, check_workspace


class SyncAttemptInline(admin.TabularInline):
    model = SyncAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "finished_at", "ok", "error_summary", "intuit_tid",
              "duration_ms"]
    readonly_fields = fields
    verbose_name_plural = "Attempts"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True  # whoever may open the job may see its attempts

    @admin.display(description="Error")
    def error_summary(self, attempt: SyncAttempt) -> str:
        err = attempt.error or {}
        if not err:
            return "—"
        code = f"[{err['code']}] " if err.get("code") else ""
        return f"{err.get('type', 'Error')}: {code}{err.get('message', '')}"


def retry_jobs(jobs: list[SyncJob], user: Any) -> tuple[Counter[str], list[str]]:
    """Retry each job; returns counts by outcome (``queued`` / ``parked``) and the
    reasons the others were refused."""
    outcome: Counter[str] = Counter()
    refused: list[str] = []
    for job in jobs:
        try:
            job = retry_job(job, user=user)
        except ValueError as exc:
            refused.append(f"job #{job.pk}: {exc}")
            continue
        outcome["parked" if job.status == SyncJob.Status.PARKED else "queued"] += 1
    return outcome, refused


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@admin.register(SyncJob)
class SyncJobAdmin(ReadOnlyAdmin):
    list_display = ["id", "status_badge", "what", "host_object_short", "attempts_display",
                    "error_short", "qbo", "caused_by", "when", "retry_button"]
    list_display_links = ["id"]
    list_filter = ["status", "entity", "action", "direction", "trigger", "workspace",
                   "created_at"]
    search_fields = ["error_message", "object_id", "qbo_id"]
    date_hierarchy = "created_at"
    list_select_related = ["connection", "content_type"]
    list_per_page = 50
    actions = ["retry_selected"]
    inlines = [SyncAttemptInline]
    fieldsets = [
        (None, {"fields": ["status_badge", "error_text", "workspace", "connection", "entity",
                           "action", "direction", "host_object", "qbo", "attempts_display",
                           "next_attempt_at", "caused_by", "retries_display",
                           "correlation_id"]}),
        ("QuickBooks error", {"fields": ["error_pretty"], "classes": ["collapse"]}),
        ("Payload and response (masked)", {"fields": ["payload_pretty", "response_pretty"]}),
        ("Timing", {"fields": ["request_id", "created_at", "started_at", "finished_at",
                               "duration_ms"]}),
    ]
    readonly_fields = [f for _, opts in fieldsets for f in opts["fields"]]
    change_form_template = "admin/qbo_sync/syncjob/change_form.html"

    # Columns -------------------------------------------------------------------------

    @admin.display(description="Status", ordering="status")
    def status_badge(self, job: SyncJob) -> str:
        return display.job_badge(job)

    @admin.display(description="Job", ordering="entity")
    def what(self, job: SyncJob) -> str:
        arrow = "→ QBO" if job.direction == SyncJob.Direction.PUSH else "← QBO"
        return format_html("{} {}<br><small>{}</small>", job.entity, arrow, job.action)

    @admin.display(description="Last attempt", ordering="started_at")
    def when(self, job: SyncJob) -> str:
        if job.started_at is None:
            return format_html("not tried yet<br><small>queued {}</small>",
                               f"{timezone.localtime(job.created_at):%Y-%m-%d %H:%M:%S}")
        return f"{timezone.localtime(job.started_at):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="Attempts")
    def attempts_display(self, job: SyncJob) -> str:
        return actors.attempts_text(job, getattr(job, "manual_retries", None))

    @admin.display(description="Caused by")
    def caused_by(self, job: SyncJob) -> str:
        return actors.actor(job)

    @admin.display(description="Manual retries")
    def retries_display(self, job: SyncJob) -> str:
        rows = actors.retries(job)
        if not rows:
            return "—"
        return format_html_join(
            mark_safe("<br>"), "{} by {} after attempt {} of max {}{}",
            ((f"{timezone.localtime(r['requested_at']):%Y-%m-%d %H:%M:%S}", r["user"],
              r["attempts"], r["max_attempts"], " (beyond the cap)" if r["beyond_cap"] else "")
             for r in rows))

    @admin.display(description="Error")
    def error_short(self, job: SyncJob) -> str:
        if not job.error_message:
            return "—"
        short = Truncator(job.error_message.replace("\n", " · ")).chars(200)
        return format_html('<span title="{}">{}</span>', job.error_message, short)

    @admin.display(description="What happened")
    def error_text(self, job: SyncJob) -> str:
        if not job.error_message:
            return "—"
        return format_html('<div style="white-space:pre-wrap">{}</div>', job.error_message)

    @admin.display(description="Object")
    def host_object_short(self, job: SyncJob) -> str:
        return display.host_object_link(job.content_type, job.object_id, fetch=False)

    @admin.display(description="Object in this app")
    def host_object(self, job: SyncJob) -> str:
        return display.host_object_link(job.content_type, job.object_id)

    @admin.display(description="In QuickBooks")
    def qbo(self, job: SyncJob) -> str:
        return display.qbo_link(job)

    @admin.display(description="Error detail")
    def error_pretty(self, job: SyncJob) -> str:
        return display.pretty_json(job.error)

    @admin.display(description="Payload sent")
    def payload_pretty(self, job: SyncJob) -> str:
        return display.pretty_json(job.payload)

    @admin.display(description="Response")
    def response_pretty(self, job: SyncJob) -> str:
        return display.pretty_json(job.response)

    @admin.display(description="")
    def retry_button(self, job: SyncJob) -> str:
        if job.status in (SyncJob.Status.SUCCEEDED, SyncJob.Status.RUNNING):
            return ""
        # A submit button of the changelist form (nested forms are not allowed): it
        # posts the form's CSRF token to the row's retry URL.
        url = reverse("admin:qbo_sync_syncjob_retry", args=[job.pk])
        return format_html(
            '<button type="submit" class="button qbo-retry" formaction="{}" formmethod="post" '
            'name="retry" value="{}">Retry</button>', url, job.pk)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncJob]:
        return super().get_queryset(request).select_related("requested_by").annotate(
            manual_retries=Count("retries"))

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[SyncJob],
                           search_term: str) -> tuple[QuerySet[SyncJob], bool]:
        """A correlation id from a log line finds its job."""
        try:
            wanted = uuid.UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(correlation_id=wanted), False

    # Screens -------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        extra_context = {"title": "Sync Health", **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None):
        job = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if job is not None and self.has_retry_permission(request) and job.status not in (
                SyncJob.Status.SUCCEEDED, SyncJob.Status.RUNNING):
            context["retry_url"] = reverse("admin:qbo_sync_syncjob_retry", args=[job.pk])
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self):
        retry = self.admin_site.admin_view(require_POST(self.retry_view))
        return [path("<path:object_id>/retry/", retry, name="qbo_sync_syncjob_retry"),
                *super().get_urls()]

    # Retry ---------------------------------------------------------------------------

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("qbo_sync.change_syncjob")

    def retry_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_retry_permission(request):
            raise PermissionDenied("You may not retry sync jobs.")
        job = get_object_or_404(self.get_queryset(request), pk=object_id)
        check_workspace(request, job.workspace)
        self._report(request, *retry_jobs([job], request.user))
        target = request.POST.get("next") or request.META.get("HTTP_REFERER", "")
        if not url_has_allowed_host_and_scheme(target, {request.get_host()},
                                               require_https=request.is_secure()):
            target = reverse("admin:qbo_sync_syncjob_changelist")
        return HttpResponseRedirect(target)

    @admin.action(description="Retry selected jobs", permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[SyncJob]) -> None:
        jobs = [job for job in queryset.select_related("connection")
                if self._may_touch(request, job)]
        self._report(request, *retry_jobs(jobs, request.user))

    def _may_touch(self, request: HttpRequest, job: SyncJob) -> bool:
        return can_manage(request.user, job.workspace)

    def _report(self, request: HttpRequest, outcome: Counter[str], refused: list[str]) -> None:
        if outcome["queued"]:
            self.message_user(request, f"{_plural(outcome['queued'], 'job')} queued for retry.",
                              messages.SUCCESS)
        if outcome["parked"]:
            self.message_user(
                request,
                f"{_plural(outcome['parked'], 'job')} will run once QuickBooks is connected "
                "again: QuickBooks connections → Reconnect.", messages.WARNING)
        if refused:
            self.message_user(
                request, f"{_plural(len(refused), 'job')} not retried: " + "; ".join(refused),
                messages.WARNING)
