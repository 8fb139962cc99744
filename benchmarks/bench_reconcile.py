"""Reconciliation benchmark: QuickBooks calls and time of a run over N linked invoices
with 20 differences, against the issue's bound 1 + ceil(N / 30) + 20 calls.

    .venv/bin/python -m benchmarks.bench_reconcile [--invoices 10000] [--rounds 1]

The company is seeded straight into the simulator's store (test setup, not what is
measured); every read of the run goes over real HTTP to the simulator, with QBO's limits
and our own call budget on. Runs alternate the query size, 30 ids (the shipped one) and
100 ids, in ABBA order, and print median and p95 of each.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from datetime import date
from decimal import Decimal

from benchmarks.bench_pull import _connection, _setup_django, simulated

DIFFERENCES = 20


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def seed(sim, n: int):
    """N sent invoices linked on both sides, then 20 differences of four kinds."""
    from django.contrib.contenttypes.models import ContentType

    from example_project.billing.models import Contact, Invoice, InvoiceLine, Workspace
    from qbo_sync.models import EntityLink
    from qbo_sync.sync.links import stored_payload
    from qbo_sync.testing.simulator.accounting.sales import create_sales
    from qbo_sync.testing.simulator.companies import US_REALM

    workspace = Workspace.objects.create(name="Bench", slug="default", country="US",
                                         home_currency="USD")
    contact = Contact.objects.create(workspace=workspace, display_name="Bench Co",
                                     country="US", currency="USD")
    conn = _connection(sim, US_REALM)
    store = sim.store
    with store.transaction():
        customer = store.save(US_REALM, "Customer", {"DisplayName": "Bench Co",
                                                     "Active": True}, "Create")["Id"]
    hosts = Invoice.objects.bulk_create([
        Invoice(workspace=workspace, contact=contact, status=Invoice.Status.SENT,
                number=f"R-{i:06d}", currency="USD", issue_date=date(2026, 10, 1))
        for i in range(n)])
    InvoiceLine.objects.bulk_create([
        InvoiceLine(invoice=h, position=0, description="Work", quantity=Decimal("1"),
                    unit_price=Decimal("50.00"), category="design", tax_rate=Decimal("0"))
        for h in hosts])
    ct = ContentType.objects.get_for_model(Invoice)
    links = []
    with store.transaction():
        for host in hosts:
            body = {"CustomerRef": {"value": customer}, "DocNumber": host.number,
                    "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("50.00"),
                              "SalesItemLineDetail": {"ItemRef": {"value": "1"},
                                                      "Qty": Decimal("1"),
                                                      "UnitPrice": Decimal("50.00")}}]}
            qbo = create_sales(store, US_REALM, "Invoice", body, {})
            links.append(EntityLink(connection=conn, content_type=ct, object_id=str(host.pk),
                                    qbo_type="Invoice", qbo_id=qbo["Id"],
                                    sync_token=qbo["SyncToken"], doc_number=host.number,
                                    # What a push keeps: the fields it sent, as
                                    # QuickBooks stored them.
                                    last_payload=stored_payload(
                                        {k: qbo[k] for k in body if k in qbo})))
    EntityLink.objects.bulk_create(links, batch_size=2000)
    ctc = ContentType.objects.get_for_model(Contact)
    EntityLink.objects.create(connection=conn, content_type=ctc, object_id=str(contact.pk),
                              qbo_type="Customer", qbo_id=customer)
    step = max(1, n // DIFFERENCES)
    picked = links[::step][:DIFFERENCES]
    for i, link in enumerate(picked):
        kind = i % 4
        if kind == 0:  # an accountant's line edit
            sim.accountant.edit_invoice(US_REALM, link.qbo_id, {"Line": [
                {"DetailType": "SalesItemLineDetail", "Amount": Decimal("55.00"),
                 "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": Decimal("1"),
                                         "UnitPrice": Decimal("55.00")}}]})
        elif kind == 1:
            sim.accountant.void_invoice(US_REALM, link.qbo_id)
        elif kind == 2:
            sim.accountant.delete_invoice(US_REALM, link.qbo_id)
        else:  # the app's total moved without a sync
            InvoiceLine.objects.filter(invoice_id=int(link.object_id)).update(
                unit_price=Decimal("60.00"))
    return conn


def one_run(conn, chunk: int) -> tuple[float, int, int, int]:
    from qbo_sync.reconcile import run as module

    module.CHUNK = chunk
    started = time.perf_counter()
    run = module.run_reconciliation(module.start_reconciliation(conn, trigger="command",
                                                                queue=False))
    elapsed = time.perf_counter() - started
    assert run.status == "done", run.error
    return elapsed, run.calls, run.found, run.total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1, help="ABBA rounds (4 runs each)")
    args = parser.parse_args()

    _setup_django()
    from django.db import connection

    load_before = os.getloadavg()[0]
    with simulated() as (sim, base_url, _db):
        started = time.perf_counter()
        conn = seed(sim, args.invoices)
        print(f"seeded {args.invoices} linked invoices and {DIFFERENCES} differences in "
              f"{time.perf_counter() - started:.1f}s (simulator at {base_url}, "
              f"{connection.vendor})")
        bound = 1 + math.ceil(args.invoices / 30) + DIFFERENCES
        times: dict[int, list[float]] = {30: [], 100: []}
        calls: dict[int, list[int]] = {30: [], 100: []}
        for _ in range(args.rounds):
            for chunk in (30, 100, 100, 30):
                elapsed, made, found, total = one_run(conn, chunk)
                assert found == DIFFERENCES, f"found {found}, expected {DIFFERENCES}"
                times[chunk].append(elapsed)
                calls[chunk].append(made)
                print(f"  {chunk:>3} ids/query: {total} records (the invoices and their "
                      f"customer), {found} differences, "
                      f"{made} calls, {elapsed:.1f}s")
        for chunk in (30, 100):
            per = statistics.median(calls[chunk]) * 1000 / args.invoices
            print(f"{chunk:>3} ids/query: calls median {statistics.median(calls[chunk]):.0f}"
                  f" ({per:.1f} per 1,000 invoices), time median "
                  f"{statistics.median(times[chunk]):.1f}s, p95 {_p95(times[chunk]):.1f}s")
        print(f"bound 1 + ceil({args.invoices}/30) + {DIFFERENCES} = {bound}; shipped "
              f"(30 ids) {'within' if max(calls[30]) <= bound else 'OVER'} it")
        print(f"conditions: {os.cpu_count()} cores, load {load_before:.2f} before, "
              f"{os.getloadavg()[0]:.2f} after; {args.rounds} ABBA round(s)")


if __name__ == "__main__":
    main()
