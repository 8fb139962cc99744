"""The per-workspace dashboard: the metrics' figures and their charts over a window
(``qbo_sync.metrics``; charts drawn as SVG by :mod:`.charts`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from ..metrics import series
from ..metrics.compute import QBO_LIMIT_PER_MINUTE, workspace_metrics
from ..metrics.text import count, duration, percent
from ..metrics.windows import DEFAULT_WINDOW, WINDOWS, Window, window, window_error
from ..models import Connection, DifferenceKind
from . import charts
from .views import _context

_LABEL_FORMATS = {"1h": "%H:%M", "24h": "%H:%M", "7d": "%a %H:%M", "30d": "%d %b"}


def dashboard_url(connection: Connection, window_name: str | None = None) -> str:
    url = reverse("admin:qbo_sync_connection_dashboard", args=[connection.pk])
    return f"{url}?{urlencode({'window': window_name})}" if window_name else url


def bucket_labels(win: Window) -> list[str]:
    fmt = _LABEL_FORMATS[win.name]
    return [timezone.localtime(start).strftime(fmt) for start in win.bucket_starts()]


def _run_label(when: datetime) -> str:
    return timezone.localtime(when).strftime("%d %b %H:%M")


def build_charts(workspace: str, win: Window, metrics: dict[str, Any]) -> list[Any]:
    """The dashboard's charts, in reading order."""
    labels = bucket_labels(win)
    done = series.outcomes(win, workspace)
    latency = series.latency(win, workspace)
    runs = series.reconciliation(workspace)
    kinds = dict(DifferenceKind.choices)
    return [
        charts.stacked_bars("outcomes", "Syncs finished", labels, [
            ("succeeded", done["succeeded"], charts.GREEN),
            ("failed or parked", done["failed"], charts.RED)]),
        charts.lines("latency", "Push latency (change → confirmed)", labels, [
            ("p50", latency["p50"], charts.BLUE), ("p95", latency["p95"], charts.AMBER)],
            unit="s"),
        charts.hbars("errors", "Failed tries by QuickBooks code",
                     list(metrics["errors"]["by_code"].items())),
        charts.hbars("error-kinds", "Failed tries by kind",
                     list(metrics["errors"]["by_kind"].items()), colour=charts.AMBER),
        charts.lines("queue", "Queue depth (jobs waiting)", labels, [
            ("waiting", series.queue_depth(win, workspace), charts.BLUE)]),
        charts.lines("calls", "QuickBooks calls in the busiest minute", labels, [
            ("calls/min", series.calls_per_minute(win, workspace), charts.BLUE)],
            limit=("QuickBooks limit", QBO_LIMIT_PER_MINUTE)),
        charts.stacked_bars("reconciliation", "Reconciliation findings (latest runs)",
                            [_run_label(r["when"]) for r in runs["runs"]], [
                                ("found", [r["found"] for r in runs["runs"]], charts.AMBER),
                                ("ignored", [r["ignored"] for r in runs["runs"]],
                                 charts.GREY)]),
        charts.hbars("open-differences", "Open differences by kind",
                     sorted(((kinds.get(k, k), n) for k, n in runs["open"].items()),
                            key=lambda kv: -kv[1]), colour=charts.AMBER),
    ]


def cards(m: dict[str, Any]) -> list[tuple[str, str]]:
    """The headline figures: (figure, what it is)."""
    jobs, queue, calls, reads = m["jobs"], m["queue"], m["calls"], m["metered_reads"]
    oldest = queue["oldest_waiting_age_seconds"]
    cost = m["cost"]["calls_per_successful_sync"]
    return [
        (percent(jobs["success_rate"]),
         f"success: {jobs['succeeded']} succeeded, {jobs['failed']} failed, "
         f"{jobs['parked']} parked"),
        (count(m["errors"]["total"]), f"failed tries; {m['retries']} retries"),
        (duration(m["push_latency"]["p50_seconds"]),
         f"push latency p50; p95 {duration(m['push_latency']['p95_seconds'])}"),
        (duration(m["pull"]["lag_seconds"]), "pull lag (age of the CDC cursor)"),
        (count(queue["depth"]),
         f"waiting, {queue['due']} due" + (f", oldest {duration(oldest)}" if oldest is not None
                                            else "") + f"; {queue['parked']} parked"),
        (count(calls["total"]), f"QuickBooks calls; busiest minute {calls['peak_per_minute']} "
         f"of {calls['limit_per_minute']}"),
        (percent(reads["used"]), f"of the metered-read budget: {count(reads['reads'])} of "
         f"{count(reads['budget'])} in {reads['month']}"),
        ("—" if cost is None else f"{cost:g}", "QuickBooks calls per successful sync"),
    ]


def dashboard_view(modeladmin: admin.ModelAdmin, request: HttpRequest,
                   connection: Connection) -> HttpResponse:
    """GET ``?window=1h|24h|7d|30d`` (default 24h)."""
    name = request.GET.get("window", DEFAULT_WINDOW)
    problem = window_error(name)
    if problem:
        return HttpResponseBadRequest(escape(f"The dashboard cannot show this: {problem}"))
    now = timezone.now()
    win = window(name, now=now)
    metrics = workspace_metrics(connection.workspace, name, now=now)
    context = _context(
        modeladmin, request, connection, f"Dashboard: {connection.workspace}",
        metrics=metrics, cards=cards(metrics),
        charts=build_charts(connection.workspace, win, metrics),
        windows=[(n, dashboard_url(connection, n), n == name) for n in WINDOWS],
        health_url=reverse("admin:qbo_sync_syncjob_changelist")
        + f"?{urlencode({'workspace': connection.workspace})}",
    )
    return TemplateResponse(request, "admin/qbo_sync/connection/dashboard.html", context)
