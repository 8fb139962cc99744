"""Customer-import benchmark: QuickBooks calls and wall time to import N QuickBooks
customers (default 5,000), half of them matching contacts the app already has (by
email), half created as new contacts; plus a dry run of the same.

    .venv/bin/python -m benchmarks.bench_import [--customers 5000] [--rounds 2]

Runs against the simulator over real HTTP and a throwaway test database; nothing leaves
the machine. Each run starts from the same state (the links and contacts the previous
run made are removed), and prints the calls it made (counted by the client and, apart,
by the simulator) against the bound of 6.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

from benchmarks.bench_pull import _connection, _setup_django, simulated

#: The promise: importing 5,000 customers uses at most 6 QuickBooks calls.
BOUND = 6


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def seed(sim, n: int):
    """N customers in the simulated company; the app has a contact for every other one."""
    from example_project.billing.models import Contact, Workspace
    from qbo_sync.receivers import muted
    from qbo_sync.testing.simulator.companies import US_REALM

    workspace = Workspace.objects.create(name="Bench", slug="default", country="US",
                                         home_currency="USD")
    conn = _connection(sim, US_REALM)
    with sim.store.transaction():
        for i in range(n):
            sim.store.save(US_REALM, "Customer", {
                "DisplayName": f"Customer {i:05d}", "Active": True,
                "PrimaryEmailAddr": {"Address": f"ap{i:05d}@example.com"},
                "CurrencyRef": {"value": "USD"}}, "Create")
    with muted():
        Contact.objects.bulk_create([
            Contact(workspace=workspace, display_name=f"Client {i:05d}",
                    email=f"AP{i:05d}@example.com ") for i in range(0, n, 2)])
    return conn, set(Contact.objects.values_list("pk", flat=True))


def reset(keep: set[int]) -> None:
    """Back to the seeded state: no customer links, only the seeded contacts."""
    from example_project.billing.models import Contact
    from qbo_sync.models import EntityLink

    EntityLink.objects.filter(qbo_type="Customer").delete()
    Contact.objects.exclude(pk__in=keep).delete()


def one_run(sim, conn, *, dry_run: bool):
    from qbo_sync.imports.run import run_import, start_import
    from qbo_sync.testing.simulator.companies import US_REALM

    sim.clear_log()
    started = time.perf_counter()
    run = run_import(start_import(conn, trigger="command", queue=False, dry_run=dry_run))
    elapsed = time.perf_counter() - started
    assert run.status == "done", run.error
    seen = sum(1 for r in sim.requests_log if r.realm == US_REALM)
    return run, elapsed, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2,
                        help="ABBA rounds (import, dry run, dry run, import)")
    args = parser.parse_args()

    _setup_django()
    from django.db import connection

    load_before = os.getloadavg()
    with simulated() as (sim, base_url, _db):
        started = time.perf_counter()
        conn, keep = seed(sim, args.customers)
        print(f"seeded {args.customers} QuickBooks customers and {len(keep)} matching "
              f"contacts in {time.perf_counter() - started:.1f}s (simulator at {base_url}, "
              f"{connection.vendor})")
        times: dict[str, list[float]] = {"import": [], "dry run": []}
        calls: dict[str, list[int]] = {"import": [], "dry run": []}
        for _ in range(args.rounds):
            # ABBA-interleaved so drift in the machine's load hits both alike.
            for kind in ("import", "dry run", "dry run", "import"):
                reset(keep)
                run, elapsed, seen = one_run(sim, conn, dry_run=kind == "dry run")
                assert run.calls == seen, f"client counted {run.calls}, simulator {seen}"
                assert (run.linked, run.created) == (len(keep), args.customers - len(keep)), \
                    (run.linked, run.created)
                times[kind].append(elapsed)
                calls[kind].append(run.calls)
                print(f"  {kind:>7}: {run.total} customers, {run.linked} linked, "
                      f"{run.created} created, {run.calls} calls, {elapsed:.2f}s")
        for kind in ("import", "dry run"):
            print(f"{kind:>7}: calls {max(calls[kind])} (bound {BOUND}: "
                  f"{'within' if max(calls[kind]) <= BOUND else 'OVER'}), time median "
                  f"{statistics.median(times[kind]):.2f}s, p95 {_p95(times[kind]):.2f}s "
                  f"over {len(times[kind])} runs")
        print(f"conditions: {os.cpu_count()} cores, load (1/5/15 min) "
              f"{'/'.join(f'{v:.2f}' for v in load_before)} before, "
              f"{'/'.join(f'{v:.2f}' for v in os.getloadavg())} after; SQLite file, "
              "simulator over HTTP, no simulated latency")


if __name__ == "__main__":
    main()
