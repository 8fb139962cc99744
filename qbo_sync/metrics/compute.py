"""Metrics read from the database: each function answers for every workspace at once
(a few grouped queries, whatever the number of workspaces), keyed by workspace, or for
one when ``workspace`` is given. :func:`workspace_metrics` puts one workspace together.

Definitions (README, "Metrics"):

- a job counts in a window when it *finished* in it with a final status; the success
  rate is succeeded (totals differing included) over succeeded + failed + parked;
  skipped jobs are left out;
- push latency is ``finished_at - created_at`` of push jobs that succeeded: from the
  change in the app (the outbox row) to QuickBooks' confirmation; percentiles are
  nearest-rank;
- errors and retries are counted per *try* (``SyncAttempt``): a job that failed twice
  then succeeded adds two errors and two retries;
- pull lag is how old the connection's CDC cursor is: changes made in QuickBooks after
  it have not reached the app yet;
- calls are the counts the clients record (``ApiCallCount``), by minute.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone

from ..conf import app_settings
from ..models import SUCCESS_STATUSES, ApiCallCount, Connection, SyncAttempt, SyncJob
from .errors import error_code, error_group
from .windows import Window, window

S = SyncJob.Status
#: Statuses a finished job can be in.
FINAL = (S.SUCCEEDED, S.DIFFERS, S.FAILED, S.PARKED, S.SKIPPED)
#: Calls QuickBooks meters (CorePlus: reads, queries, CDC; docs/qbo-rules.md §3).
METERED_KINDS = (ApiCallCount.Kind.READ, ApiCallCount.Kind.QUERY, ApiCallCount.Kind.CDC)
#: QuickBooks' own limit per realm (docs/qbo-rules.md §3); the client stays below it.
QBO_LIMIT_PER_MINUTE = 500


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (``p`` in 0–100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _scoped(qs: QuerySet, field: str, workspace: str | None) -> QuerySet:
    return qs.filter(**{field: workspace}) if workspace is not None else qs


def _in(qs: QuerySet, field: str, win: Window) -> QuerySet:
    return qs.filter(**{f"{field}__gte": win.start, f"{field}__lt": win.end})


# Outcomes ---------------------------------------------------------------------------


def rates(counts: Counter) -> dict[str, Any]:
    """Success and error rates of a tally of final statuses."""
    ok = counts[S.SUCCEEDED] + counts[S.DIFFERS]
    bad = counts[S.FAILED] + counts[S.PARKED]
    return {
        "succeeded": ok, "differs": counts[S.DIFFERS], "failed": counts[S.FAILED],
        "parked": counts[S.PARKED], "skipped": counts[S.SKIPPED],
        "success_rate": ratio(ok, ok + bad), "error_rate": ratio(bad, ok + bad),
    }


def outcomes(win: Window, workspace: str | None = None) -> dict[str, dict[tuple, Counter]]:
    """workspace → (direction, entity, action) → final status → jobs finished in ``win``."""
    rows = (_in(_scoped(SyncJob.objects.filter(status__in=FINAL), "workspace", workspace),
                "finished_at", win)
            .values_list("workspace", "direction", "entity", "action", "status")
            .annotate(n=Count("pk")).order_by())
    found: dict[str, dict[tuple, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for ws, direction, entity, action, status, n in rows:
        found[ws][(direction, entity, action)][status] += n
    return found


def latencies(win: Window, workspace: str | None = None) -> dict[str, dict[tuple, list]]:
    """workspace → (entity, action) → seconds from change to confirmation, of the push
    jobs that succeeded in ``win``."""
    rows = _in(_scoped(SyncJob.objects.filter(direction=SyncJob.Direction.PUSH,
                                              status__in=SUCCESS_STATUSES),
                       "workspace", workspace), "finished_at", win) \
        .values_list("workspace", "entity", "action", "created_at", "finished_at").order_by()
    found: dict[str, dict[tuple, list]] = defaultdict(lambda: defaultdict(list))
    for ws, entity, action, created, finished in rows:
        found[ws][(entity, action)].append(max((finished - created).total_seconds(), 0.0))
    return found


def failed_tries(win: Window, workspace: str | None = None) -> dict[str, dict[str, Counter]]:
    """workspace → {"by_code", "by_kind", "by_entity"} → failed tries in ``win``."""
    rows = _in(_scoped(SyncAttempt.objects.filter(ok=False).exclude(finished_at=None),
                       "job__workspace", workspace), "finished_at", win) \
        .values_list("job__workspace", "job__entity", "error").order_by()
    found: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for ws, entity, error in rows:
        found[ws]["by_code"][error_code(error)] += 1
        found[ws]["by_kind"][error_group((error or {}).get("type", ""))] += 1
        found[ws]["by_entity"][entity] += 1
    return found


def retries(win: Window, workspace: str | None = None) -> dict[str, dict[tuple, int]]:
    """workspace → (direction, entity, action) → tries after a job's first, in ``win``."""
    rows = (_in(_scoped(SyncAttempt.objects.filter(number__gt=1), "job__workspace",
                        workspace), "started_at", win)
            .values_list("job__workspace", "job__direction", "job__entity", "job__action")
            .annotate(n=Count("pk")).order_by())
    found: dict[str, dict[tuple, int]] = defaultdict(dict)
    for ws, direction, entity, action, n in rows:
        found[ws][(direction, entity, action)] = n
    return found


# Now: queue and pull lag -------------------------------------------------------------


def queues(now: datetime, workspace: str | None = None) -> dict[str, dict[str, Any]]:
    """workspace → pending, due, running, parked and the oldest waiting job's age."""
    waiting = (S.PENDING, S.RUNNING, S.PARKED)
    rows = (_scoped(SyncJob.objects.filter(status__in=waiting), "workspace", workspace)
            .values("workspace")
            .annotate(pending=Count("pk", filter=Q(status=S.PENDING)),
                      due=Count("pk", filter=Q(status=S.PENDING, next_attempt_at__lte=now)),
                      running=Count("pk", filter=Q(status=S.RUNNING)),
                      parked=Count("pk", filter=Q(status=S.PARKED)),
                      oldest=Min("created_at", filter=Q(status__in=(S.PENDING, S.RUNNING))))
            .order_by())
    found = {}
    for row in rows:
        oldest = row["oldest"]
        found[row["workspace"]] = {
            "depth": row["pending"] + row["running"], "pending": row["pending"],
            "due": row["due"], "running": row["running"], "parked": row["parked"],
            "oldest_waiting_since": oldest,
            "oldest_waiting_age_seconds": _age(oldest, now),
        }
    return found


def empty_queue() -> dict[str, Any]:
    return {"depth": 0, "pending": 0, "due": 0, "running": 0, "parked": 0,
            "oldest_waiting_since": None, "oldest_waiting_age_seconds": None}


def pull_lags(now: datetime, workspace: str | None = None) -> dict[str, dict[str, Any]]:
    """workspace → the CDC cursor and its age in seconds (None: never pulled)."""
    rows = _scoped(Connection.objects.all(), "workspace", workspace).values_list(
        "workspace", "cdc_cursor", "status")
    return {ws: {"cursor": cursor, "lag_seconds": _age(cursor, now), "connection": status}
            for ws, cursor, status in rows}


def _age(when: datetime | None, now: datetime) -> int | None:
    return None if when is None else max(int((now - when).total_seconds()), 0)


# QuickBooks calls ----------------------------------------------------------------------


def _minutes(win: Window) -> tuple[datetime, datetime]:
    return win.start.replace(second=0, microsecond=0), win.end


def calls(win: Window, workspace: str | None = None) -> dict[str, dict[str, Counter]]:
    """workspace → {"by_kind", "by_source"} → calls recorded in ``win``'s minutes."""
    start, end = _minutes(win)
    rows = (_scoped(ApiCallCount.objects.filter(minute__gte=start, minute__lt=end),
                    "connection__workspace", workspace)
            .values_list("connection__workspace", "kind", "source")
            .annotate(n=Sum("count")).order_by())
    found: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    for ws, kind, source, n in rows:
        found[ws]["by_kind"][kind] += n
        found[ws]["by_source"][source] += n
    return found


def calls_per_minute(win: Window, workspace: str) -> dict[datetime, int]:
    """Minute → calls of every kind, for the minutes of ``win`` that had any."""
    start, end = _minutes(win)
    rows = (ApiCallCount.objects.filter(connection__workspace=workspace, minute__gte=start,
                                        minute__lt=end)
            .values_list("minute").annotate(n=Sum("count")).order_by())
    return dict(rows)


def month_start(now: datetime) -> datetime:
    """The first instant of ``now``'s calendar month, in UTC (the metering month)."""
    utc = now.astimezone(UTC)
    return datetime(utc.year, utc.month, 1, tzinfo=UTC)


def metered_reads(now: datetime, workspace: str | None = None) -> dict[str, int]:
    """workspace → metered calls (reads, queries, CDC) recorded this calendar month."""
    rows = (_scoped(ApiCallCount.objects.filter(minute__gte=month_start(now),
                                                kind__in=METERED_KINDS),
                    "connection__workspace", workspace)
            .values_list("connection__workspace").annotate(n=Sum("count")).order_by())
    return dict(rows)


def reads_since(workspace: str, since: datetime) -> int:
    """Metered calls (reads, queries, CDC) of ``workspace`` recorded since ``since``: the
    count the ``read_budget`` alert reads (``ALERTS["READ_COUNT"]``)."""
    total = (ApiCallCount.objects.filter(connection__workspace=workspace, minute__gte=since,
                                         kind__in=METERED_KINDS)
             .aggregate(n=Sum("count"))["n"])
    return int(total or 0)


def read_budget(reads: int, now: datetime) -> dict[str, Any]:
    budget = int(app_settings.METERED_READS_PER_MONTH)
    return {"month": f"{month_start(now):%Y-%m}", "reads": reads, "budget": budget,
            "used": ratio(reads, budget)}


# One workspace --------------------------------------------------------------------------


def _latency(values: list[float]) -> dict[str, Any]:
    return {"p50_seconds": percentile(values, 50), "p95_seconds": percentile(values, 95),
            "samples": len(values)}


def workspace_metrics(workspace: str, window_name: str, *,
                      now: datetime | None = None) -> dict[str, Any]:
    """Every metric of ``workspace`` over the window ``window_name`` ("1h", "24h", "7d",
    "30d"; ValueError naming them otherwise)."""
    now = now or timezone.now()
    win = window(window_name, now=now)
    by_job = outcomes(win, workspace).get(workspace, {})
    lat = latencies(win, workspace).get(workspace, {})
    tries = retries(win, workspace).get(workspace, {})
    errors = failed_tries(win, workspace).get(workspace, {})
    used = calls(win, workspace).get(workspace, {})
    per_minute = calls_per_minute(win, workspace)

    total: Counter = Counter()
    entities = []
    for key in sorted(set(by_job) | set(tries)):
        direction, entity, action = key
        counts = by_job.get(key, Counter())
        total.update(counts)
        row = {"direction": direction, "entity": entity, "action": action, **rates(counts),
               "retries": tries.get(key, 0)}
        if direction == SyncJob.Direction.PUSH:
            row["latency"] = _latency(lat.get((entity, action), []))
        entities.append(row)

    job_calls = used.get("by_source", Counter())[ApiCallCount.Source.JOB]
    ok = total[S.SUCCEEDED] + total[S.DIFFERS]
    queue = queues(now, workspace).get(workspace) or empty_queue()
    oldest = (SyncJob.objects.filter(workspace=workspace, status__in=(S.PENDING, S.RUNNING))
              .order_by("created_at", "pk").values_list("pk", flat=True).first())
    return {
        "workspace": workspace,
        "window": win.name, "since": win.start, "until": win.end,
        "jobs": rates(total),
        "by_entity": entities,
        "retries": sum(tries.values()),
        "errors": {"total": sum(errors.get("by_code", Counter()).values()),
                   "by_code": _sorted(errors.get("by_code", {})),
                   "by_kind": _sorted(errors.get("by_kind", {}))},
        "push_latency": _latency(_flatten(lat.values())),
        "pull": pull_lags(now, workspace).get(workspace,
                                               {"cursor": None, "lag_seconds": None,
                                                "connection": "not_connected"}),
        "queue": {**queue, "oldest_waiting_job": oldest},
        "calls": {"total": sum(used.get("by_kind", Counter()).values()),
                  "by_kind": _sorted(used.get("by_kind", {})),
                  "by_source": _sorted(used.get("by_source", {})),
                  "peak_per_minute": max(per_minute.values(), default=0),
                  "limit_per_minute": QBO_LIMIT_PER_MINUTE},
        "metered_reads": read_budget(metered_reads(now, workspace).get(workspace, 0), now),
        "cost": {"job_calls": job_calls, "successful_syncs": ok,
                 "calls_per_successful_sync": round(job_calls / ok, 2) if ok else None},
    }


def _flatten(groups: Iterable[list[float]]) -> list[float]:
    return [v for group in groups for v in group]


def _sorted(counts: dict[str, int]) -> dict[str, int]:
    """Largest first, then by name: the order people read a breakdown in."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


__all__ = ["FINAL", "METERED_KINDS", "QBO_LIMIT_PER_MINUTE", "calls", "calls_per_minute",
           "failed_tries", "latencies", "metered_reads", "month_start", "outcomes",
           "percentile", "pull_lags", "queues", "rates", "retries", "workspace_metrics"]
