"""The scheduled catch-up: payments and invoice changes made in QuickBooks come back
to the host through CDC, once, with a number of calls that does not grow with the
number of open invoices."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from example_project.billing.models import Invoice, Payment, Task
from qbo_sync import signals
from qbo_sync.connection.clients import client_for
from qbo_sync.models import Connection, EntityLink, SyncJob
from qbo_sync.pull.cycle import pull_connection
from qbo_sync.testing.simulator.companies import US_REALM

from .support import api_calls, linked_invoice, many_linked_invoices

D = Decimal
pytestmark = pytest.mark.django_db


def cycle(conn: Connection) -> dict:
    summary = pull_connection(conn.pk)
    assert "error" not in summary, summary
    return summary


def test_a_payment_in_qbo_marks_the_host_invoice_paid_in_one_cycle(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(
        US_REALM, qbo["Id"], D("100.00"), method="Check", reference="CHK-1042")

    summary = cycle(qbo_connection)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    payment = invoice.payments.get()
    assert payment.amount == D("100.00")
    assert payment.source == Payment.Source.QUICKBOOKS
    assert payment.method == Payment.Method.CHECK
    assert payment.reference == "CHK-1042"
    jobs = SyncJob.objects.filter(direction="pull").order_by("pk")
    assert [(j.action, j.status) for j in jobs] == [
        ("pull_payment", "succeeded"), ("pull_invoice_paid", "succeeded")]
    assert jobs[1].qbo_id == qbo["Id"]
    assert "Recorded QuickBooks payment" in jobs[0].error_message
    assert EntityLink.objects.get(qbo_id=qbo["Id"]).qbo_status == "paid"
    assert summary["mode"] == "cdc" and summary["jobs"] == 2


def test_calls_per_cycle_do_not_grow_with_open_invoices(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    # 1000 open invoices, last changed an hour ago (the simulator's clock set back).
    qbo_simulator.clock.advance(-3600)
    many_linked_invoices(qbo_connection, host_contact, qbo_customer, 1000)
    qbo_simulator.clock.advance(3600)
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    cycle(qbo_connection)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))
    qbo_simulator.clear_log()

    cycle(qbo_connection)

    calls = api_calls(qbo_simulator)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    # One CDC call for Payment and Invoice together, whatever the number of open invoices.
    assert [(c.method, c.path.rsplit("/", 1)[-1]) for c in calls] == [("GET", "cdc")]
    assert calls[0].query["entities"] == "Payment,Invoice"


def test_a_partial_payment_is_recorded_and_the_invoice_stays_open(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("40.00"))
    cycle(qbo_connection)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT
    assert [p.amount for p in invoice.payments.all()] == [D("40.00")]

    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("60.00"))
    cycle(qbo_connection)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert sorted(p.amount for p in invoice.payments.all()) == [D("40.00"), D("60.00")]


def test_one_payment_split_over_two_invoices_records_each_line_amount(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    first, qbo1 = linked_invoice(qbo_connection, host_contact, qbo_customer, D("30.00"))
    second, qbo2 = linked_invoice(qbo_connection, host_contact, qbo_customer, D("70.00"))
    with client_for(qbo_connection) as client:
        client.create("Payment", {
            "CustomerRef": {"value": qbo_customer}, "TotalAmt": D("80.00"),
            "Line": [
                {"Amount": D("30.00"), "LinkedTxn": [{"TxnId": qbo1["Id"], "TxnType": "Invoice"}]},
                {"Amount": D("50.00"), "LinkedTxn": [{"TxnId": qbo2["Id"], "TxnType": "Invoice"}]},
            ]})
    cycle(qbo_connection)
    first.refresh_from_db()
    second.refresh_from_db()
    assert [p.amount for p in first.payments.all()] == [D("30.00")]
    assert [p.amount for p in second.payments.all()] == [D("50.00")]
    assert (first.status, second.status) == (Invoice.Status.PAID, Invoice.Status.SENT)


def test_rerunning_the_same_window_records_nothing_twice(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("40.00"))
    cycle(qbo_connection)
    # Same window again: the cursor is put back, as after a crash before it was saved.
    Connection.objects.filter(pk=qbo_connection.pk).update(cdc_cursor=None)
    second = cycle(qbo_connection)

    assert second["jobs"] == 0
    assert invoice.payments.count() == 1
    assert SyncJob.objects.filter(direction="pull").count() == 1


def test_payments_we_pushed_are_not_echoed_back(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    ours = invoice.record_payment(D("100.00"))  # recorded in the app, pushed by us
    with client_for(qbo_connection) as client:
        pushed = client.create("Payment", {
            "CustomerRef": {"value": qbo_customer}, "TotalAmt": D("100.00"),
            "Line": [{"Amount": D("100.00"),
                      "LinkedTxn": [{"TxnId": qbo["Id"], "TxnType": "Invoice"}]}]})
    from django.contrib.contenttypes.models import ContentType

    EntityLink.objects.create(connection=qbo_connection, qbo_type="Payment",
                              qbo_id=pushed["Id"], object_id=str(ours.pk),
                              content_type=ContentType.objects.get_for_model(Payment))
    cycle(qbo_connection)

    assert invoice.payments.count() == 1
    assert not SyncJob.objects.filter(action="pull_payment").exists()
    # Settled only by our own payment: nothing to tell the host, so no pull job at all;
    # the link remembers that QuickBooks has it paid.
    assert not SyncJob.objects.filter(direction="pull").exists()
    link = EntityLink.objects.get(connection=qbo_connection, qbo_type="Invoice",
                                  qbo_id=qbo["Id"])
    assert link.qbo_status == "paid"


@pytest.mark.parametrize("how", ["void", "delete"])
def test_a_void_or_delete_in_qbo_is_surfaced_and_sticks(
    how, qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    if how == "void":
        qbo_simulator.accountant.void_invoice(US_REALM, qbo["Id"])
    else:
        qbo_simulator.accountant.delete_invoice(US_REALM, qbo["Id"])
    cycle(qbo_connection)

    state = "void" if how == "void" else "deleted"
    job = SyncJob.objects.get(direction="pull")
    assert job.action == f"pull_invoice_{state}"
    assert job.qbo_id == qbo["Id"] and job.object_id == str(invoice.pk)
    assert f"{'voided' if how == 'void' else 'deleted'} in QuickBooks" in job.error_message
    assert "will not send it to QuickBooks again" in job.error_message
    assert EntityLink.objects.get(qbo_id=qbo["Id"]).qbo_status == state
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.SENT  # nothing decided for the user

    # A later cycle does not bring the link back nor repeat the row.
    Connection.objects.filter(pk=qbo_connection.pk).update(cdc_cursor=None)
    cycle(qbo_connection)
    assert SyncJob.objects.filter(direction="pull").count() == 1
    assert EntityLink.objects.get(qbo_id=qbo["Id"]).qbo_status == state


def test_a_paid_task_moves_to_completed_with_a_payment_note(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    task = Task.objects.create(workspace=host_contact.workspace, contact=host_contact,
                               title="Brand refresh", status=Task.Status.INVOICED,
                               invoice=invoice)
    received = []
    signals.invoice_paid_in_qbo.connect(lambda **kw: received.append(kw["obj"]), weak=False,
                                        dispatch_uid="test-paid")
    try:
        qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))
        cycle(qbo_connection)
    finally:
        signals.invoice_paid_in_qbo.disconnect(dispatch_uid="test-paid")
    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETED
    assert "QuickBooks" in task.note
    assert received == []  # paid by the recorded payment already: no second "paid" event


def test_an_invoice_paid_without_a_recorded_payment_fires_the_signal(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    # Host total 90 but QBO total 100 (e.g. tax computed there): the recorded payment
    # does not settle the host invoice, QBO's zero balance does.
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    invoice.lines.update(unit_price=D("110.00"))
    received = []
    signals.invoice_paid_in_qbo.connect(lambda **kw: received.append(kw["obj"].pk),
                                        weak=False, dispatch_uid="test-paid-2")
    try:
        qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))
        cycle(qbo_connection)
    finally:
        signals.invoice_paid_in_qbo.disconnect(dispatch_uid="test-paid-2")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert received == [invoice.pk]


def test_a_cursor_older_than_30_days_falls_back_to_queries(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))
    Connection.objects.filter(pk=qbo_connection.pk).update(
        cdc_cursor=timezone.now() - timedelta(days=45))
    qbo_simulator.clear_log()

    summary = cycle(qbo_connection)

    assert summary["mode"] == "query"
    paths = {c.path.rsplit("/", 1)[-1] for c in api_calls(qbo_simulator)}
    assert paths == {"query"}  # no CDC call that would be refused
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    qbo_connection.refresh_from_db()
    assert timezone.now() - qbo_connection.cdc_cursor < timedelta(minutes=1)


def test_the_1000_object_cap_pages_forward(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    many_linked_invoices(qbo_connection, host_contact, qbo_customer, 1000)
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))

    summary = cycle(qbo_connection)  # 1001 invoices + 1 payment changed in the window

    assert summary["capped"] is True
    assert summary["changed"]["Invoice"] == 1001 and summary["changed"]["Payment"] == 1
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_a_failed_pull_job_retries_by_reading_qbo_again(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    from qbo_sync.sync import engine, outbox

    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))
    # The host refuses once (e.g. its database hiccups): the job fails, nothing applied.
    from example_project.billing import qbo as host_adapters

    original = host_adapters.InvoiceAdapter.record_payment
    host_adapters.InvoiceAdapter.record_payment = lambda self, obj, p: 1 / 0
    try:
        cycle(qbo_connection)
    finally:
        host_adapters.InvoiceAdapter.record_payment = original
    job = SyncJob.objects.get(action="pull_payment")
    assert job.status == "failed"
    assert invoice.payments.count() == 0

    qbo_simulator.clear_log()
    outbox.retry_job(job)
    assert engine.run_job(job.pk) == "succeeded"
    assert invoice.payments.get().amount == D("100.00")
    reads = [c.path for c in api_calls(qbo_simulator)]
    assert any(p.endswith(f"/payment/{job.qbo_id}") for p in reads)


def test_a_disconnected_workspace_is_not_pulled(qbo_simulator, qbo_connection):
    Connection.objects.filter(pk=qbo_connection.pk).update(
        status=Connection.Status.DISCONNECTED)
    qbo_simulator.clear_log()
    assert pull_connection(qbo_connection.pk)["skipped"]
    assert api_calls(qbo_simulator) == []


def test_a_pull_never_runs_twice_at_once_for_a_realm(qbo_simulator, qbo_connection):
    from qbo_sync.pull.lock import realm_lock

    with realm_lock(US_REALM) as held:
        assert held
        assert pull_connection(qbo_connection.pk)["busy"] is True
    assert "busy" not in pull_connection(qbo_connection.pk)


def test_a_failed_cdc_call_keeps_the_cursor(qbo_simulator, qbo_connection):
    before = timezone.now() - timedelta(hours=1)
    Connection.objects.filter(pk=qbo_connection.pk).update(cdc_cursor=before)
    qbo_simulator.inject("error", status=503, entity="cdc")
    summary = pull_connection(qbo_connection.pk)
    assert summary["error"]
    qbo_connection.refresh_from_db()
    assert qbo_connection.cdc_cursor == before


def test_a_dead_pulls_lock_is_taken_over_after_its_lease(qbo_simulator, qbo_connection):
    from qbo_sync.pull.lock import is_locked, lease, realm_lock

    assert lease() < timedelta(minutes=2)  # a killed worker freezes pulls briefly (issue 16)
    stale = timezone.now() - lease() - timedelta(seconds=1)
    Connection.objects.filter(pk=qbo_connection.pk).update(pull_started_at=stale)
    assert not is_locked(US_REALM)
    with realm_lock(US_REALM) as held:
        assert held and is_locked(US_REALM)
    qbo_connection.refresh_from_db()
    assert qbo_connection.pull_started_at is None
