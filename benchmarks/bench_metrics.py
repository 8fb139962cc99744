"""Metrics benchmark: what computing the metrics, the dashboard's series and a
Prometheus scrape costs over a month of history, and what counting one call costs.

    .venv/bin/python -m benchmarks.bench_metrics [--jobs 50000] [--workspaces 20]
        [--rounds 7]

Writes ``--jobs`` finished jobs (one try each, one in ten failed first and tried again)
spread evenly over 30 days across ``--workspaces`` workspaces, plus a month of
per-minute call counts for the first workspace, then times each query ``--rounds``
times. Prints median and p95 per figure, and the machine's load.

Uses a throwaway SQLite file; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta


def _setup(db_file: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["QBO_SQLITE"] = db_file
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _world(jobs: int, workspaces: int) -> None:
    from django.utils import timezone

    from qbo_sync.models import ApiCallCount, Connection, SyncAttempt, SyncJob

    now = timezone.now()
    conns = [Connection.objects.create(workspace=f"ws{i}", realm_id=str(9000 + i),
                                       status="connected", cdc_cursor=now)
             for i in range(workspaces)]
    span = timedelta(days=30).total_seconds()
    rows = []
    for n in range(jobs):
        finished = now - timedelta(seconds=span * n / jobs)
        failed = n % 10 == 0
        rows.append(SyncJob(connection=conns[n % workspaces], workspace=f"ws{n % workspaces}",
                            entity=("invoice", "contact", "payment")[n % 3],
                            action="create", status="succeeded", attempts=2 if failed else 1,
                            finished_at=finished))
    SyncJob.objects.bulk_create(rows, batch_size=2000)
    made = list(SyncJob.objects.values_list("pk", "finished_at", "attempts"))
    # created_at is auto_now_add: set it 5 s before the finish, in bulk.
    SyncJob.objects.bulk_update(
        [SyncJob(pk=pk, created_at=f - timedelta(seconds=5)) for pk, f, _ in made],
        ["created_at"], batch_size=2000)
    tries = []
    for pk, finished, attempts in made:
        if attempts == 2:
            tries.append(SyncAttempt(job_id=pk, number=1, started_at=finished,
                                     finished_at=finished, ok=False,
                                     error={"type": "ServerError", "code": "10000"}))
        tries.append(SyncAttempt(job_id=pk, number=attempts, started_at=finished,
                                 finished_at=finished, ok=True))
    SyncAttempt.objects.bulk_create(tries, batch_size=2000)
    minute = now.replace(second=0, microsecond=0)
    calls = [ApiCallCount(connection=conns[0], minute=minute - timedelta(minutes=m),
                          kind=kind, source="job", count=3)
             for m in range(30 * 24 * 60) for kind in ("write", "query")]
    ApiCallCount.objects.bulk_create(calls, batch_size=5000)


def _time(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    p95 = seconds[min(len(seconds) - 1, max(0, round(0.95 * len(seconds)) - 1))]
    return statistics.median(seconds), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50_000)
    parser.add_argument("--workspaces", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(os.path.join(tmp, "bench.sqlite3"))
        from django.utils import timezone

        from qbo_sync.connection.usage import record_calls
        from qbo_sync.metrics import prometheus, series
        from qbo_sync.metrics.compute import workspace_metrics
        from qbo_sync.metrics.windows import window
        from qbo_sync.models import Connection

        started = time.perf_counter()
        _world(args.jobs, args.workspaces)
        print(f"history: {args.jobs:,} jobs over 30 days in {args.workspaces} workspaces, "
              f"{args.jobs // args.workspaces:,} per workspace; 86,400 call-count rows for "
              f"ws0; written in {time.perf_counter() - started:.1f} s (SQLite, WAL)")
        print(f"{'figure':<44} {'median':>9} {'p95':>9}")
        figures: list[tuple[str, Callable[[], object]]] = [
            (f"workspace_metrics ws0 {w}", lambda w=w: workspace_metrics("ws0", w))
            for w in ("1h", "24h", "7d", "30d")]
        month = window("30d", now=timezone.now())
        figures += [
            ("dashboard series ws0 30d (5 series)", lambda: (
                series.outcomes(month, "ws0"), series.latency(month, "ws0"),
                series.queue_depth(month, "ws0"), series.calls_per_minute(month, "ws0"),
                series.reconciliation("ws0"))),
            (f"prometheus scrape ({args.workspaces} workspaces)", lambda: prometheus.render()),
        ]
        for name, fn in figures:
            median, p95 = _time(fn, args.rounds)
            print(f"{name:<44} {median * 1000:>7.1f}ms {p95 * 1000:>7.1f}ms")
        conn = Connection.objects.get(workspace="ws0")
        per_call = []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            for _ in range(200):
                record_calls(conn.pk, "read", "job")
            per_call.append((time.perf_counter() - t0) / 200)
        per_call.sort()
        print(f"{'record_calls (one call counted, autocommit)':<44} "
              f"{statistics.median(per_call) * 1e6:>7.0f}us {per_call[-1] * 1e6:>7.0f}us")
        load = os.getloadavg()
        print(f"rounds: {args.rounds}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
              f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
