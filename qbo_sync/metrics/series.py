"""Time series of one workspace over a window, bucket by bucket: what the dashboard
draws. Each is read with one query and bucketed in Python (buckets are 5 minutes to a
day, which no portable SQL date function gives)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count

from ..models import SUCCESS_STATUSES, Connection, Difference, ReconciliationRun, SyncJob
from . import compute
from .windows import Window

S = SyncJob.Status
#: Reconciliation runs shown (the latest ones).
RUNS_SHOWN = 12


def outcomes(win: Window, workspace: str) -> dict[str, list[int]]:
    """Jobs that finished in each bucket: "succeeded" (differs too) and "failed"
    (parked too)."""
    found = {"succeeded": [0] * len(win.bucket_starts()),
             "failed": [0] * len(win.bucket_starts())}
    rows = (SyncJob.objects.filter(workspace=workspace, finished_at__gte=win.start,
                                   finished_at__lt=win.end,
                                   status__in=(*SUCCESS_STATUSES, S.FAILED, S.PARKED))
            .values_list("finished_at", "status").order_by())
    for finished, status in rows:
        index = win.bucket_of(finished)
        if index is not None:
            found["succeeded" if status in SUCCESS_STATUSES else "failed"][index] += 1
    return found


def latency(win: Window, workspace: str) -> dict[str, list[float | None]]:
    """p50 and p95 push latency (seconds) of the pushes confirmed in each bucket."""
    samples: list[list[float]] = [[] for _ in win.bucket_starts()]
    rows = (SyncJob.objects.filter(workspace=workspace, direction=SyncJob.Direction.PUSH,
                                   status__in=SUCCESS_STATUSES, finished_at__gte=win.start,
                                   finished_at__lt=win.end)
            .values_list("created_at", "finished_at").order_by())
    for created, finished in rows:
        index = win.bucket_of(finished)
        if index is not None:
            samples[index].append(max((finished - created).total_seconds(), 0.0))
    return {"p50": [compute.percentile(s, 50) for s in samples],
            "p95": [compute.percentile(s, 95) for s in samples]}


def queue_depth(win: Window, workspace: str) -> list[int]:
    """Jobs waiting (written, not finished) at the end of each bucket, rebuilt from the
    jobs' own times: a job waits from ``created_at`` until its final ``finished_at`` (a
    parked one until it was parked); one still pending or running waits until now.
    Tries in between are not told apart."""
    ends = [start + win.bucket for start in win.bucket_starts()]
    open_statuses = (S.PENDING, S.RUNNING)
    rows = (SyncJob.objects.filter(workspace=workspace, created_at__lt=win.end)
            .exclude(finished_at__lt=win.start, status__in=compute.FINAL)
            .values_list("created_at", "finished_at", "status").order_by())
    depth = [0] * len(ends)
    for created, finished, status in rows:
        until: datetime | None = None if status in open_statuses else finished
        for i, end in enumerate(ends):
            if created < end and (until is None or until > end):
                depth[i] += 1
    return depth


def calls_per_minute(win: Window, workspace: str) -> list[int]:
    """The busiest minute's calls in each bucket (QuickBooks' limit is per minute)."""
    peaks = [0] * len(win.bucket_starts())
    for minute, n in compute.calls_per_minute(win, workspace).items():
        index = win.bucket_of(max(minute, win.start))
        if index is not None:
            peaks[index] = max(peaks[index], n)
    return peaks


def reconciliation(workspace: str) -> dict[str, Any]:
    """The latest runs' findings (oldest first) and the differences still open."""
    conn = Connection.objects.filter(workspace=workspace).first()
    if conn is None:
        return {"runs": [], "open": {}}
    runs = list(ReconciliationRun.objects.filter(connection=conn, status="done")
                .order_by("-created_at", "-pk")[:RUNS_SHOWN])
    open_by_kind = dict(Difference.objects.filter(connection=conn,
                                                  state=Difference.State.OPEN)
                        .values_list("kind").annotate(n=Count("pk")).order_by())
    return {"runs": [{"when": r.finished_at or r.created_at, "found": r.found,
                      "ignored": r.ignored, "repaired": r.repaired, "total": r.total}
                     for r in reversed(runs)],
            "open": open_by_kind}
