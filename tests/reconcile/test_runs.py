"""A run's cost, its unattended repairs, what it leaves out and how it is started."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from example_project.billing.models import Invoice, InvoiceLine
from qbo_sync import signals
from qbo_sync.exceptions import ReconcileBusy
from qbo_sync.models import EntityLink, IgnoredDifference, ReconciliationRun, SyncJob
from qbo_sync.reconcile.repair import repair
from qbo_sync.reconcile.run import start_reconciliation
from tests.push.conftest import api_calls, job_for, send_invoice

from .conftest import kinds, reconcile


def _many(contact, n: int) -> list[Invoice]:
    out = [send_invoice(contact, number=f"INV-{i:05d}", memo="Thanks!") for i in range(n)]
    assert not SyncJob.objects.exclude(status="succeeded").exists()
    return out


def test_the_cost_is_one_query_per_thirty_invoices(qbo_simulator, connected, contact):
    invoices = _many(contact, 40)
    for inv in invoices[:2]:  # two differences
        InvoiceLine.objects.filter(invoice=inv, category="design").update(
            unit_price=Decimal("1.00"))
    before = len(api_calls(qbo_simulator))
    run = reconcile(connected)
    made = len(api_calls(qbo_simulator)) - before
    assert kinds(run) == ["totals", "totals"]
    # What the run records is what QuickBooks received, and within the budget.
    assert run.calls == made
    assert made <= 1 + math.ceil(40 / 30) + 2
    assert run.total == 41  # the 40 invoices and their customer
    assert run.calls_per_thousand == Decimal(made * 1000 / 41).quantize(Decimal("0.1"))
    queries = [r for r in api_calls(qbo_simulator)[before:] if r.path.endswith("/query")]
    assert len(queries) == math.ceil(40 / 30) + 1  # + the customer's


def test_safe_repairs_run_unattended_and_the_rest_wait(qbo_simulator, connected, contact):
    a, b = _many(contact, 2)
    link_b = EntityLink.objects.get(qbo_type="Invoice", object_id=str(b.pk))
    Invoice.objects.filter(pk=a.pk).update(status=Invoice.Status.VOID)  # safe: void there
    qbo_simulator.accountant.edit_invoice(connected.realm_id, link_b.qbo_id,
                                          {"CustomerMemo": {"value": "Edited"}})  # a person
    run = reconcile(connected, fix="safe")
    assert (kinds(run), run.repaired) == (["edited", "open_in_qbo"], 1)
    assert run.differences.get(kind="open_in_qbo").state == "repairing"
    assert run.differences.get(kind="edited").state == "open"
    assert kinds(reconcile(connected)) == ["edited"]


def test_an_invoice_with_a_sync_on_its_way_is_left_out(qbo_simulator, connected, contact):
    [invoice] = _many(contact, 1)
    InvoiceLine.objects.filter(invoice=invoice).update(unit_price=Decimal("1.00"))
    SyncJob.objects.create(connection=connected, workspace="default", entity="invoice",
                           action="sync", content_type=job_for(invoice).content_type,
                           object_id=str(invoice.pk), status="pending")
    run = reconcile(connected)
    assert (run.found, run.in_flight) == (0, 1)


def test_an_ignore_holds_until_the_values_change(qbo_simulator, connected, contact):
    [invoice] = _many(contact, 1)
    line = InvoiceLine.objects.filter(invoice=invoice, category="design")
    line.update(unit_price=Decimal("130.00"))
    [diff] = reconcile(connected).differences.all()
    with pytest.raises(Exception, match="Say why"):
        repair(diff, "ignore", reason=" ")
    repair(diff, "ignore", reason="agreed with the client")
    assert IgnoredDifference.objects.get().reason == "agreed with the client"
    run = reconcile(connected)
    assert (run.found, run.ignored) == (0, 1)
    line.update(unit_price=Decimal("140.00"))  # a new difference: reported again
    assert kinds(reconcile(connected)) == ["totals"]


def test_differences_send_a_signal_with_the_counts(qbo_simulator, connected, contact):
    [invoice] = _many(contact, 1)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.VOID)
    heard = []
    signals.reconciliation_found.connect(lambda **kw: heard.append(kw["counts"]),
                                         weak=False, dispatch_uid="t")
    try:
        reconcile(connected)
        reconcile(connected, fix="safe")
    finally:
        signals.reconciliation_found.disconnect(dispatch_uid="t")
    assert heard == [{"open_in_qbo": 1}, {"open_in_qbo": 1}]


def test_one_run_at_a_time(qbo_simulator, connected):
    start_reconciliation(connected, queue=False)
    with pytest.raises(ReconcileBusy, match="is queued since"):
        start_reconciliation(connected, queue=False)


def test_a_queued_run_is_done_by_a_worker(qbo_simulator, connected, contact):
    _many(contact, 1)
    from django.db import transaction

    with transaction.atomic():
        run = start_reconciliation(connected, trigger="api")
    run.refresh_from_db()
    assert (run.status, run.total, run.trigger) == ("done", 2, "api")  # invoice, customer


def test_a_read_is_tried_again_then_the_run_says_why(qbo_simulator, connected, contact,
                                                     monkeypatch):
    _many(contact, 1)
    slept: list[float] = []
    monkeypatch.setattr("qbo_sync.reconcile.run.time.sleep", slept.append)
    qbo_simulator.inject("error", status=503, path="/query$", times=2)
    run = reconcile(connected)
    assert (run.status, run.total, slept) == ("done", 2, [2.0, 4.0])
    qbo_simulator.inject("error", status=503, path="/query$", times=None)
    run = reconcile(connected)
    assert run.status == "failed"
    assert run.error == ("QuickBooks did not answer the reads after 5 tries (Service "
                         "Unavailable). Start the run again later; the schedule also runs "
                         "it again.")


def test_the_command_prints_progress_and_a_summary(qbo_simulator, connected, contact,
                                                   capsys):
    [invoice] = _many(contact, 1)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.VOID)
    call_command("qbo_sync_reconcile", "--workspace", "default")
    out, err = capsys.readouterr()
    assert "100% 2/2" in err
    assert "2 records compared, 1 difference: open_in_qbo 1" in out
    assert "QuickBooks calls" in out
    run = ReconciliationRun.objects.get()
    assert run.trigger == "command"
    call_command("qbo_sync_reconcile", "--workspace", "default", "--fix", "safe")
    out, _ = capsys.readouterr()
    assert "1 safe repair queued" in out


def test_the_command_names_the_fix_for_bad_input(qbo_simulator, connected):
    with pytest.raises(CommandError, match="has no QuickBooks connection"):
        call_command("qbo_sync_reconcile", "--workspace", "nope")
    with pytest.raises(CommandError, match="is not a date; use YYYY-MM-DD"):
        call_command("qbo_sync_reconcile", "--workspace", "default", "--since", "May")
