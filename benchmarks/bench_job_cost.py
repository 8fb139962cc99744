"""Job-cost benchmark: what one pushed invoice costs with 1,000 and with 20,000 rows in
the SyncJob table.

    .venv/bin/python -m benchmarks.bench_job_cost [--jobs 100] [--small 1000]
        [--big 20000] [--rounds 2]

Each run sends ``--jobs`` invoices (``Invoice.send()``: the job's INSERT and the broker
enqueue, django-q2's ORM broker) and pushes each one (``tasks.run_job``, the
in-process simulator, no latency, and no minute limits on either side: the job's
cost, not QuickBooks' pace), then sweeps once. Before a run the table is filled
to its size with other records' jobs as a busy product leaves them: nine in ten
finished, one in ten pending and due later. The sizes alternate A B B A in every round,
so that drift in the machine's load falls on both alike. Prints per size the median and
p95 time per job (send and push), the SQL statements per job, the sweep's time, and the
load average around each run; and the ratio of the medians.

Uses a throwaway SQLite file and the simulator; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

from .bench_push import _draft, _setup_django, _simulated, _world
from .bench_save_cost import _load, _p95


def _fill(size: int, connection: Any, content_type_id: int) -> None:
    """Other records' jobs up to ``size`` rows: nine in ten finished, one in ten due
    in an hour."""
    from django.utils import timezone

    from qbo_sync.models import SyncJob

    SyncJob.objects.all().delete()
    now = timezone.now()
    SyncJob.objects.bulk_create([
        SyncJob(connection=connection, workspace=connection.workspace,
                content_type_id=content_type_id, object_id=str(10_000_000 + n),
                entity="invoice", action="sync", max_attempts=5,
                status="pending" if n % 10 == 0 else "succeeded",
                next_attempt_at=now + timedelta(hours=1), finished_at=now,
                dispatched_at=now)
        for n in range(size)], batch_size=2000)


def _run(contact: Any, jobs: int, tag: str) -> tuple[list[float], list[int], float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from qbo_sync import tasks
    from qbo_sync.models import SyncJob
    from qbo_sync.sync import outbox

    drafts = [_draft(contact, f"{tag}-{n:05d}") for n in range(jobs)]
    timings, statements = [], []
    for invoice in drafts:
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            invoice.send()
            job = SyncJob.objects.filter(object_id=str(invoice.pk),
                                         entity="invoice").values_list("pk", flat=True)[0]
            status = tasks.run_job(job)
            timings.append(time.perf_counter() - start)
        assert status == "succeeded", status
        statements.append(len(captured.captured_queries) - 1)  # not the harness's lookup
    start = time.perf_counter()
    outbox.sweep()
    return timings, statements, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100, help="invoices per run")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--big", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qbo-bench-") as folder:
        _setup_django(os.path.join(folder, "bench.sqlite3"))
        from django.conf import settings
        from django.contrib.contenttypes.models import ContentType
        from django.test import override_settings
        from django_q.conf import Conf
        from django_q.models import OrmQ

        from example_project.billing.models import Invoice
        from qbo_sync.models import Connection
        from qbo_sync.testing.simulator.limits import Limits, RealmLimiter

        Conf.SYNC = False  # the broker enqueue is real; the harness runs the job itself
        results: dict[int, dict[str, list]] = {
            size: {"t": [], "q": [], "sweep": [], "load": []}
            for size in (args.small, args.big)}
        ct = ContentType.objects.get_for_model(Invoice).pk
        print(f"job cost: {args.jobs} invoices sent and pushed per run, the SyncJob table "
              f"at {args.small:,} and {args.big:,} rows, {args.rounds} ABBA rounds; "
              f"SQLite file, ORM broker, in-process simulator; {os.cpu_count()} cores")
        with _simulated() as sim, override_settings(QBO_SYNC={
                **settings.QBO_SYNC, "RATE_LIMIT_PER_MINUTE": 1_000_000}):
            # The cost of a job, not QuickBooks' pace: no minute limits on either side.
            sim.limiter = RealmLimiter(sim.clock, Limits(per_minute=None,
                                                         batch_per_minute=None))
            _, contact = _world(sim, "job-cost")
            connection = Connection.objects.get(workspace="job-cost")
            for number in range(args.rounds):
                for step, size in enumerate((args.small, args.big, args.big, args.small)):
                    _fill(size, connection, ct)
                    OrmQ.objects.all().delete()
                    before = _load()
                    timings, statements, sweep = _run(contact, args.jobs, f"J{number}{step}")
                    r = results[size]
                    r["t"] += timings
                    r["q"] += statements
                    r["sweep"].append(sweep)
                    r["load"].append(f"{before}→{_load()}")
        medians = {}
        for size, r in results.items():
            medians[size] = statistics.median(r["t"])
            print(f"  {size:>6,} rows: median {medians[size] * 1e3:6.2f} ms, p95 "
                  f"{_p95(r['t']) * 1e3:6.2f} ms per job; SQL {statistics.mean(r['q']):.1f} "
                  f"per job (max {max(r['q'])}); sweep median "
                  f"{statistics.median(r['sweep']) * 1e3:.1f} ms; load "
                  + ", ".join(r["load"]))
        print(f"  {args.big:,} rows vs {args.small:,}: "
              f"{medians[args.big] / medians[args.small]:.3f}× the median job cost")


if __name__ == "__main__":
    main()
