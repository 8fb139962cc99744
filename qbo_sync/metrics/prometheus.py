"""The Prometheus scrape: a custom collector that reads the database on each scrape,
so every worker's jobs and calls are in it, whichever process answers
(``prometheus-client`` is an optional extra, ``pip install qbo-sync[prometheus]``: import
this module only when the endpoint is on).

Names follow Prometheus' conventions: base units (``_seconds``), ``_total`` only on
counters. A job's status changes (a retry moves a failed job back to pending), so jobs
by status are a gauge, ``qbo_sync_jobs``; the counter is jobs created,
``qbo_sync_jobs_created_total`` (job rows are never deleted). Windowed figures carry
``window="1h"``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import Count
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..models import SyncJob
from . import compute
from .windows import window

#: The window of the windowed gauges (success ratio, latency, errors, calls).
SCRAPE_WINDOW = "1h"


class SyncCollector:
    """Reads qbo_sync's tables on ``collect()`` (register it with a
    ``CollectorRegistry``; :func:`render` does)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now  # fixed in tests; None: the time of each scrape

    def describe(self) -> list:
        # Describing would need a database read at registration time: none.
        return []

    def collect(self) -> Iterator[Any]:
        counter, gauge = CounterMetricFamily, GaugeMetricFamily
        now = self.now or timezone.now()
        win = window(SCRAPE_WINDOW, now=now)
        ws, job_labels = ["workspace"], ["workspace", "direction", "entity"]

        jobs = gauge("qbo_sync_jobs", "Sync jobs by current status.",
                     labels=[*job_labels, "status"])
        created = counter("qbo_sync_jobs_created", "Sync jobs written (outbox rows).",
                          labels=job_labels)
        made: dict[tuple, int] = {}
        for row in (SyncJob.objects.values_list("workspace", "direction", "entity", "status")
                    .annotate(n=Count("pk")).order_by()):
            *key, status, n = row
            jobs.add_metric([*key, status], n)
            made[tuple(key)] = made.get(tuple(key), 0) + n
        for key, n in sorted(made.items()):
            created.add_metric(list(key), n)
        yield jobs
        yield created

        yield from self._window(win, gauge, ws)
        yield from self._now(now, gauge, ws)

    def _window(self, win: Any, gauge: Any, ws: list[str]) -> Iterator[Any]:
        labels = [*ws, "window"]
        success = gauge("qbo_sync_success_ratio", "Jobs that succeeded among those that "
                        "finished (skipped left out).", labels=labels)
        finished = gauge("qbo_sync_jobs_finished", "Jobs that finished in the window, by "
                         "status.", labels=[*labels, "status"])
        for name, groups in sorted(compute.outcomes(win).items()):
            total: dict[str, int] = {}
            for counts in groups.values():
                for status, n in counts.items():
                    total[status] = total.get(status, 0) + n
            for status, n in sorted(total.items()):
                finished.add_metric([name, win.name, status], n)
            rate = compute.rates(Counter(total))["success_rate"]
            if rate is not None:
                success.add_metric([name, win.name], rate)
        yield success
        yield finished

        latency = gauge("qbo_sync_push_latency_seconds", "Seconds from the change in the "
                        "app to QuickBooks' confirmation, of pushes that succeeded.",
                        labels=[*labels, "quantile"])
        for name, groups in sorted(compute.latencies(win).items()):
            values = [v for group in groups.values() for v in group]
            for q in (50, 95):
                latency.add_metric([name, win.name, f"0.{q}"], compute.percentile(values, q))
        yield latency

        by_code = gauge("qbo_sync_errors_by_code", "Failed tries in the window, by "
                        "QuickBooks error code (none: no code).", labels=[*labels, "code"])
        by_kind = gauge("qbo_sync_errors_by_kind", "Failed tries in the window, by error "
                        "kind (how the sync reacts).", labels=[*labels, "kind"])
        for name, found in sorted(compute.failed_tries(win).items()):
            for code, n in sorted(found["by_code"].items()):
                by_code.add_metric([name, win.name, code], n)
            for kind, n in sorted(found["by_kind"].items()):
                by_kind.add_metric([name, win.name, kind], n)
        yield by_code
        yield by_kind

        calls = gauge("qbo_sync_api_calls", "QuickBooks API calls sent in the window.",
                      labels=[*labels, "kind"])
        for name, found in sorted(compute.calls(win).items()):
            for kind, n in sorted(found["by_kind"].items()):
                calls.add_metric([name, win.name, kind], n)
        yield calls

    def _now(self, now: datetime, gauge: Any, ws: list[str]) -> Iterator[Any]:
        depth = gauge("qbo_sync_queue_depth", "Jobs pending or running.", labels=ws)
        oldest = gauge("qbo_sync_queue_oldest_age_seconds", "Age of the oldest job pending "
                       "or running.", labels=ws)
        parked = gauge("qbo_sync_jobs_parked", "Jobs waiting for a reconnect.", labels=ws)
        for name, queue in sorted(compute.queues(now).items()):
            depth.add_metric([name], queue["depth"])
            parked.add_metric([name], queue["parked"])
            if queue["oldest_waiting_age_seconds"] is not None:
                oldest.add_metric([name], queue["oldest_waiting_age_seconds"])
        yield depth
        yield oldest
        yield parked

        lag = gauge("qbo_sync_pull_lag_seconds", "Age of the connection's CDC cursor: "
                    "QuickBooks changes after it have not reached the app.", labels=ws)
        for name, pull in sorted(compute.pull_lags(now).items()):
            if pull["lag_seconds"] is not None:
                lag.add_metric([name], pull["lag_seconds"])
        yield lag

        reads = gauge("qbo_sync_metered_reads_month", "Metered QuickBooks calls (reads, "
                      "queries, CDC) this calendar month (UTC).", labels=ws)
        for name, n in sorted(compute.metered_reads(now).items()):
            reads.add_metric([name], n)
        yield reads
        yield gauge("qbo_sync_metered_reads_budget", "Metered reads allowed a month "
                    "(METERED_READS_PER_MONTH).",
                    value=compute.read_budget(0, now)["budget"])


def render(now: datetime | None = None) -> tuple[bytes, str]:
    """The scrape body and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SyncCollector(now))
    return generate_latest(registry), CONTENT_TYPE_LATEST
