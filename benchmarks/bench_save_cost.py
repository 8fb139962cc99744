"""Save-cost benchmark: what qbo_sync adds to the host's ``Invoice.send()``.

    .venv/bin/python -m benchmarks.bench_save_cost [--saves 200] [--rounds 4] [--postgres]

``Invoice.send()`` (draft → sent) without the app (its receivers disconnected) and with
it (the SyncJob row in the host's transaction, the broker enqueue after the commit, no
QBO call), interleaved A B B A in every round so that drift in the machine's load falls
on both alike. Prints per variant the median and p95 time per save, the SQL statements
per save, new database connections, and the load average (os.getloadavg) around each
round.

Default stack: a throwaway SQLite file (WAL, IMMEDIATE transactions) and django-q2's ORM
broker. ``--postgres``: PostgreSQL and the Redis broker of the example settings
(``QBO_DB=postgres QBO_BROKER=redis``), in a throwaway database ``qbo_bench_save_<pid>``
created and dropped on the server of ``PGHOST``/``PGUSER``, and Redis databases 13 and 14
unless ``REDIS_URL`` / ``REDIS_CACHE_URL`` say otherwise.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

from .bench_push import _draft, _set_receivers, _setup_django, _simulated, _world


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _load() -> str:
    return "/".join(f"{v:.2f}" for v in os.getloadavg())


def _measure(contact: Any, saves: int, tag: str) -> tuple[list[float], list[int], int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    drafts = [_draft(contact, f"{tag}-{n:05d}") for n in range(saves)]
    timings, queries, reconnects = [], [], 0
    for invoice in drafts:
        connection.ensure_connection()
        raw = connection.connection
        connection.queries_log.clear()  # the capture counts by position in a bounded log
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            invoice.send()
            timings.append(time.perf_counter() - start)
        queries.append(len(captured.captured_queries))
        reconnects += connection.connection is not raw
    return timings, queries, reconnects


def run(saves: int, rounds: int, stack: str) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django_q.conf import Conf

    from example_project.billing.models import Invoice
    from qbo_sync.sync.queue import shared_broker

    Conf.SYNC = False  # the broker enqueue is part of the real cost; no inline push
    ContentType.objects.get_for_model(Invoice)  # warm, as after a process's first save
    results: dict[bool, dict[str, list]] = {
        app: {"t": [], "q": [], "reconnects": [], "load": []} for app in (False, True)}
    print(f"Invoice.send(): {stack}, broker {type(shared_broker()).__name__}, "
          f"{saves} saves per run, {rounds} ABBA rounds")
    with _simulated() as sim:
        _, contact = _world(sim, "save-cost")
        for number in range(rounds):
            for step, app in enumerate((False, True, True, False)):
                _set_receivers(app)
                before = _load()
                timings, queries, reconnects = _measure(contact, saves, f"R{number}{step}")
                results[app]["t"] += timings
                results[app]["q"] += queries
                results[app]["reconnects"].append(reconnects)
                results[app]["load"].append(f"{before}→{_load()}")
    _set_receivers(True)
    shared_broker().purge_queue()  # nothing runs the tasks; leave no queue behind
    base = statistics.median(results[False]["t"])
    for app in (False, True):
        r = results[app]
        median, p95 = statistics.median(r["t"]), _p95(r["t"])
        label = "with qbo_sync   " if app else "without qbo_sync"
        print(f"  {label}: median {median * 1e3:6.2f} ms, p95 {p95 * 1e3:6.2f} ms "
              f"({median / base:.2f}× the save without), "
              f"SQL {statistics.mean(r['q']):.1f}/save (max {max(r['q'])}), "
              f"new DB connections {sum(r['reconnects'])}")
    extra = statistics.mean(results[True]["q"]) - statistics.mean(results[False]["q"])
    print(f"  extra SQL statements per save: {extra:.1f}")
    print("  load average (1/5/15 min) around each run, without: "
          + ", ".join(results[False]["load"]))
    print("  load average (1/5/15 min) around each run, with:    "
          + ", ".join(results[True]["load"]))


def _postgres_database() -> tuple[str, Any]:
    import psycopg

    name = f"qbo_bench_save_{os.getpid()}"
    params = {"host": os.environ.get("PGHOST", "127.0.0.1"),
              "port": os.environ.get("PGPORT", "5432"),
              "user": os.environ.get("PGUSER", "postgres"), "dbname": "postgres",
              "autocommit": True}
    with psycopg.connect(**params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(**params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')

    return name, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200, help="saves per run")
    parser.add_argument("--rounds", type=int, default=4, help="ABBA rounds")
    parser.add_argument("--postgres", action="store_true",
                        help="PostgreSQL + the Redis broker instead of SQLite + ORM")
    args = parser.parse_args()
    drop = None
    if args.postgres:
        os.environ.update(QBO_DB="postgres", QBO_BROKER="redis")
        # Redis databases of its own: no worker elsewhere takes the benchmark's tasks.
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
        os.environ.setdefault("REDIS_CACHE_URL", "redis://127.0.0.1:6379/14")
        os.environ["PGDATABASE"], drop = _postgres_database()
        stack = "PostgreSQL + Redis broker"
    else:
        stack = "SQLite file (WAL) + ORM broker"
    try:
        with tempfile.TemporaryDirectory(prefix="qbo-bench-") as folder:
            _setup_django(os.path.join(folder, "bench.sqlite3"))
            run(args.saves, args.rounds, stack)
    finally:
        if drop is not None:
            drop()


if __name__ == "__main__":
    main()
