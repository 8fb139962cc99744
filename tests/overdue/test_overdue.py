"""Overdue on both sides: an invoice with an open balance past its due date in
QuickBooks is marked overdue in the app by the pull (a change QuickBooks recorded) and
by the daily check (the calendar alone), counted with its open amount in the status
summary, and cleared when it is paid."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from example_project.billing.models import Invoice
from qbo_sync.connection.status import status_summary
from qbo_sync.models import EntityLink, InvoiceStanding, SyncJob
from qbo_sync.pull.cycle import pull_connection
from qbo_sync.pull.overdue import check_connection
from qbo_sync.qbo.records import is_overdue
from tests.push.conftest import job_for, send_invoice

D = Decimal


def _line(price: str) -> list[dict]:
    return [{"category": "design", "description": "Design work", "quantity": D("1"),
             "unit_price": D(price), "tax_rate": D("0")}]


def _sent(who, number: str, price: str, due_in_days: int) -> tuple[Invoice, EntityLink]:
    today = timezone.localdate()
    invoice = send_invoice(who, number=number, lines=_line(price),
                           issue_date=today - timedelta(days=6),
                           due_date=today + timedelta(days=due_in_days))
    assert job_for(invoice).status == "succeeded", job_for(invoice).error_message
    return invoice, EntityLink.objects.get(qbo_type="Invoice", object_id=str(invoice.pk))


def _cycle(conn) -> dict:
    summary = pull_connection(conn.pk)
    assert "error" not in summary, summary
    return summary


def test_the_rule():
    today = timezone.localdate()
    past, future = str(today - timedelta(days=1)), str(today + timedelta(days=1))
    assert is_overdue({"Balance": D("0.01"), "TotalAmt": D("5"), "DueDate": past}, today)
    assert not is_overdue({"Balance": D("0"), "TotalAmt": D("5"), "DueDate": past}, today)
    assert not is_overdue({"Balance": D("5"), "TotalAmt": D("5"), "DueDate": str(today)},
                          today)  # due today is not yet overdue
    assert not is_overdue({"Balance": D("5"), "TotalAmt": D("5"), "DueDate": future}, today)
    assert not is_overdue({"Id": "1", "status": "Deleted"}, today)


def test_the_daily_check_marks_overdue_and_the_status_counts_it_exactly(qbo_simulator,
                                                                       connected, contact):
    late1, link1 = _sent(contact, "INV-00001", "100.10", due_in_days=-5)
    late2, _ = _sent(contact, "INV-00002", "0.20", due_in_days=-1)
    on_time, _ = _sent(contact, "INV-00003", "999.00", due_in_days=10)

    summary = check_connection(connected)
    assert (summary["overdue"], summary["reports"], summary["calls"]) == (2, 2, 1), summary
    for invoice, overdue in ((late1, True), (late2, True), (on_time, False)):
        invoice.refresh_from_db()
        assert invoice.overdue is overdue
    counted = status_summary(connected)["overdue"]
    assert counted["count"] == 2
    assert counted["amount"] == D("100.30") and isinstance(counted["amount"], Decimal)
    assert counted["by_currency"] == {"USD": {"count": 2, "amount": D("100.30")}}

    # Checking again tells the app nothing new.
    assert check_connection(connected)["reports"] == 0
    out = StringIO()
    call_command("qbo_sync_status", stdout=out)
    assert "2 (USD 100.30)" in out.getvalue()

    # The accountant gives one more time: the next check clears it on both sides.
    later = str(timezone.localdate() + timedelta(days=14))
    qbo_simulator.accountant.edit_invoice(connected.realm_id, link1.qbo_id, {"DueDate": later})
    assert check_connection(connected)["reports"] == 1
    late1.refresh_from_db()
    assert late1.overdue is False
    assert status_summary(connected)["overdue"]["amount"] == D("0.20")


def test_the_pull_marks_it_when_quickbooks_changes_the_due_date_and_clears_it_when_paid(
        qbo_simulator, connected, contact):
    invoice, link = _sent(contact, "INV-00001", "250.00", due_in_days=10)
    past = str(timezone.localdate() - timedelta(days=3))
    qbo_simulator.accountant.edit_invoice(connected.realm_id, link.qbo_id, {"DueDate": past})

    _cycle(connected)
    invoice.refresh_from_db()
    assert invoice.overdue is True
    job = SyncJob.objects.get(action="pull_invoice_overdue")
    assert job.status == "succeeded", job.error_message
    assert "is overdue in QuickBooks (open balance 250.00" in job.error_message
    assert status_summary(connected)["overdue"]["amount"] == D("250.00")

    qbo_simulator.accountant.record_payment(connected.realm_id, link.qbo_id, D("250.00"))
    _cycle(connected)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.overdue) == (Invoice.Status.PAID, False)
    assert InvoiceStanding.objects.get(link=link).overdue is False
    assert status_summary(connected)["overdue"] == {"count": 0, "amount": D("0"),
                                                   "by_currency": {}}


def test_a_partial_payment_leaves_it_overdue_with_the_rest_counted(qbo_simulator, connected,
                                                                   contact):
    invoice, link = _sent(contact, "INV-00001", "100.00", due_in_days=-2)
    qbo_simulator.accountant.record_payment(connected.realm_id, link.qbo_id, D("33.33"))
    _cycle(connected)
    invoice.refresh_from_db()
    assert invoice.overdue is True
    assert status_summary(connected)["overdue"]["amount"] == D("66.67")


def test_without_mark_overdue_it_is_still_counted(monkeypatch, connected, contact):
    from example_project.billing.qbo import InvoiceAdapter
    from qbo_sync import adapters
    monkeypatch.setattr(InvoiceAdapter, "mark_overdue", adapters.InvoiceAdapter.mark_overdue)
    invoice, _ = _sent(contact, "INV-00001", "10.00", due_in_days=-2)
    assert check_connection(connected)["reports"] == 0
    invoice.refresh_from_db()
    assert invoice.overdue is False
    assert status_summary(connected)["overdue"]["count"] == 1
