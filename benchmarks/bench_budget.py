"""Call-budget benchmark: what taking and giving back one unit of a realm's budget costs
per QBO call, in the database storage of the embedded default against ``memory://``
(per process, the old default), ABBA-interleaved.

    .venv/bin/python -m benchmarks.bench_budget [--calls 300] [--rounds 2] [--postgres]

A throwaway SQLite file (WAL, IMMEDIATE transactions, as in the example settings), or with
``--postgres`` a throwaway PostgreSQL database (no Redis: the budget is then in
PostgreSQL, locked by row). No QBO call is made: only ``throttle.budget(realm)``, with a
limit high enough never to wait.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from .bench_push import _setup_django
from .bench_save_cost import _postgres_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per run")
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL, not SQLite")
    args = parser.parse_args()
    drop, where = None, "SQLite file (WAL)"
    if args.postgres:
        os.environ["QBO_DB"] = "postgres"
        os.environ["PGDATABASE"], drop = _postgres_database()
        where = "PostgreSQL"
    try:
        _run(args, where)
    finally:
        if drop is not None:
            drop()


def _run(args: argparse.Namespace, where: str) -> None:
    with tempfile.TemporaryDirectory(prefix="qbo-bench-") as folder:
        _setup_django(os.path.join(folder, "bench.sqlite3"))
        from django.conf import settings
        from django.test import override_settings

        from qbo_sync.qbo import throttle

        storages = ("memory://", "qbo-sync-db://default")
        timings: dict[str, list[float]] = {uri: [] for uri in storages}
        loads: list[str] = []
        for _ in range(args.rounds):
            for uri in (storages[0], storages[1], storages[1], storages[0]):
                loads.append("/".join(f"{v:.2f}" for v in os.getloadavg()))
                with override_settings(QBO_SYNC={**settings.QBO_SYNC,
                                                 "RATE_LIMIT_STORAGE": uri,
                                                 "RATE_LIMIT_PER_MINUTE": 10**9}):
                    for _ in range(args.calls):
                        start = time.perf_counter()
                        with throttle.budget("bench-realm"):
                            pass
                        timings[uri].append(time.perf_counter() - start)
        print(f"throttle.budget(): {args.calls} calls per run, {args.rounds} ABBA rounds, "
              f"{where}, database storage {throttle.storage_uri()!r} by default")
        for uri, values in timings.items():
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            print(f"  {uri:<22} median {statistics.median(values) * 1e3:6.2f} ms, "
                  f"p95 {p95 * 1e3:6.2f} ms per call")
        print("  load average (1/5/15 min) before each run: " + ", ".join(loads))


if __name__ == "__main__":
    main()
