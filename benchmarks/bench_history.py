"""Historical sync benchmark: how long queueing a workspace's invoices takes.

    .venv/bin/python -m benchmarks.bench_history [--invoices 2000] [--rounds 4] [--big 20000]

Compares, in one run and interleaved (A B B A …), the per-object path (one
``outbox.enqueue`` per invoice, as before) with the bulk path (``run_history``: one
query and one bulk insert per 500 invoices). Both write real jobs and hand them to
django-q2's ORM broker (no worker runs them). Prints median and p95 per path, the
machine's load, and then one run of the bulk path at ``--big`` invoices.

Uses a throwaway SQLite file; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any


def _setup(db_file: str) -> None:
    os.environ.setdefault("QBO_Q_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["QBO_SQLITE"] = db_file
    import django

    django.setup()
    from django.core.management import call_command
    from django_q.conf import Conf

    call_command("migrate", verbosity=0)
    Conf.SYNC = False  # queue to the ORM broker; no worker runs the jobs here


def _world() -> Any:
    from django.utils import timezone

    from example_project.billing.models import Contact, Workspace
    from qbo_sync.models import KEY_CANARY, Connection

    workspace = Workspace.objects.create(name="Bench", slug="bench", country="US",
                                         home_currency="USD")
    Contact.objects.create(workspace=workspace, display_name="Customer", currency="USD")
    return Connection.objects.create(
        workspace="bench", realm_id="9341453000000001", environment="simulator",
        status=Connection.Status.CONNECTED, access_token="x", refresh_token="y",
        key_canary=KEY_CANARY, connected_at=timezone.now() - timedelta(days=1))


def _add_invoices(count: int) -> None:
    from example_project.billing.models import Contact, Invoice, InvoiceLine
    from qbo_sync import receivers

    contact = Contact.objects.get(workspace__slug="bench")
    start = Invoice.objects.count()
    with receivers.muted():
        invoices = Invoice.objects.bulk_create([
            Invoice(workspace=contact.workspace, contact=contact, number=f"H-{n:06d}",
                    currency="USD", status="sent", issue_date=date(2026, 1, 1))
            for n in range(start, start + count)])
        InvoiceLine.objects.bulk_create([
            InvoiceLine(invoice=inv, description="Work", quantity=Decimal("1"),
                        unit_price=Decimal("10.00")) for inv in invoices])


def _reset() -> None:
    from django_q.models import OrmQ

    from qbo_sync.models import HistoricalRun, SyncJob

    SyncJob.objects.all().delete()
    OrmQ.objects.all().delete()
    HistoricalRun.objects.all().delete()


def _per_object(conn: Any) -> int:
    from qbo_sync.adapters import get_adapter
    from qbo_sync.sync.outbox import enqueue

    adapter = get_adapter("invoice")
    return sum(1 for obj in adapter.objects_for(conn.workspace).order_by("pk")
               if enqueue("invoice", obj, connection=conn) is not None)


def _bulk(conn: Any) -> int:
    from qbo_sync.models import HistoricalRun
    from qbo_sync.sync.history import run_history

    run = HistoricalRun.objects.create(connection=conn, kind="invoice")
    return run_history(run).queued


def _timed(fn: Any, conn: Any) -> tuple[float, int]:
    _reset()
    start = time.perf_counter()
    queued = fn(conn)
    return time.perf_counter() - start, queued


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4, help="ABBA rounds")
    parser.add_argument("--big", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qbo-bench-") as folder:
        _setup(os.path.join(folder, "bench.sqlite3"))
        from qbo_sync.models import SyncJob

        conn = _world()
        _add_invoices(args.invoices)
        paths = {"per-object enqueue": _per_object, "bulk run_history": _bulk}
        times: dict[str, list[float]] = {name: [] for name in paths}
        order = list(paths)
        print(f"load before: {os.getloadavg()}; {os.cpu_count()} CPUs; SQLite file; "
              f"ORM broker; {args.invoices} sent invoices; {args.rounds} ABBA rounds")
        for round_no in range(args.rounds):
            for name in (order if round_no % 2 == 0 else order[::-1]):
                seconds, queued = _timed(paths[name], conn)
                assert queued == args.invoices == SyncJob.objects.count(), (name, queued)
                times[name].append(seconds)
        for name, values in times.items():
            per = statistics.median(values) / args.invoices * 1000
            print(f"{name:>20}: median {statistics.median(values):.2f} s, p95 "
                  f"{_p95(values):.2f} s ({per:.2f} ms per invoice)")
        print(f"load after: {os.getloadavg()}")
        if args.big:
            _reset()
            _add_invoices(args.big - args.invoices)
            seconds, queued = _timed(_bulk, conn)
            print(f"bulk run_history, {queued} invoices: {seconds:.1f} s "
                  f"(load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
