"""Invoice life cycle and the task board: Ready to Invoice bills time, paid completes."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from example_project.billing.models import Invoice, Payment, Task, TimeEntry

from .conftest import make_invoice

D = Decimal


@pytest.fixture
def task(uk_contact):
    task = Task.objects.create(workspace=uk_contact.workspace, contact=uk_contact,
                               title="Website redesign", status=Task.Status.IN_PROGRESS)
    TimeEntry.objects.create(task=task, description="Wireframes", hours=D("3.25"),
                             rate=D("80.00"), category="design")
    TimeEntry.objects.create(task=task, description="Internal stand-up", hours=D("1"),
                             rate=D("80.00"), category="consulting", billable=False)
    TimeEntry.objects.create(task=task, description="Build pages", hours=D("10.5"),
                             rate=D("95.50"), category="development")
    return task


def test_ready_to_invoice_creates_a_draft_from_billable_time(task):
    invoice = task.move_to_ready_to_invoice()

    task.refresh_from_db()
    assert task.status == Task.Status.READY_TO_INVOICE
    assert task.invoice == invoice
    assert invoice.status == Invoice.Status.DRAFT
    assert invoice.contact == task.contact
    assert invoice.currency == "GBP"  # the contact has none: the workspace's home currency
    assert (invoice.due_date - invoice.issue_date).days == 14
    rows = list(invoice.lines.values_list("description", "quantity", "unit_price",
                                          "category", "tax_rate"))
    assert rows == [
        ("Wireframes", D("3.25"), D("80.00"), "design", D("20.00")),
        ("Build pages", D("10.5"), D("95.50"), "development", D("20.00")),
    ]
    assert invoice.subtotal == D("260.00") + D("1002.75")


def test_the_save_hook_bills_a_task_moved_by_any_path(task):
    task.status = Task.Status.READY_TO_INVOICE
    task.save(update_fields=["status"])
    task.refresh_from_db()
    assert task.invoice is not None
    assert task.invoice.lines.count() == 2
    # Saving again does not bill twice.
    task.save()
    assert Invoice.objects.count() == 1


def test_customers_abroad_are_billed_zero_rated(task):
    task.contact.country = "DE"
    task.contact.save()
    invoice = task.move_to_ready_to_invoice()
    assert set(invoice.lines.values_list("tax_rate", flat=True)) == {D("0.00")}


def test_task_without_billable_time_cannot_be_billed(uk_contact):
    task = Task.objects.create(workspace=uk_contact.workspace, contact=uk_contact,
                               title="Unbilled")
    TimeEntry.objects.create(task=task, description="Chat", hours=D("1"), rate=D("50"),
                             billable=False)
    with pytest.raises(ValidationError, match="no billable time entries"):
        task.move_to_ready_to_invoice()
    task.refresh_from_db()
    assert task.status == Task.Status.BACKLOG
    assert not Invoice.objects.exists()


def test_sending_moves_task_to_invoiced_and_paying_completes_it(task):
    invoice = task.move_to_ready_to_invoice()
    invoice.send()
    task.refresh_from_db()
    assert task.status == Task.Status.INVOICED

    assert invoice.mark_paid(date(2026, 11, 3), note="Paid by bank transfer.") is True
    task.refresh_from_db()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.paid_at.date() == date(2026, 11, 3)
    assert task.status == Task.Status.COMPLETED
    assert task.note.endswith("Paid by bank transfer.")
    assert invoice.mark_paid(date(2026, 11, 4)) is False  # already paid: no change
    invoice.refresh_from_db()
    assert invoice.paid_at.date() == date(2026, 11, 3)


def test_default_payment_note_names_invoice_and_date(task):
    invoice = task.move_to_ready_to_invoice()
    invoice.mark_paid(datetime(2026, 11, 5, 9, 30, tzinfo=UTC))
    task.refresh_from_db()
    assert task.note == f"Invoice {invoice.number} paid on 2026-11-05."


def test_full_payment_marks_invoice_paid(us_contact):
    invoice = make_invoice(us_contact, [{"quantity": D("2"), "unit_price": D("50.00"),
                                         "tax_rate": D("8.25")}], status="sent")
    invoice.record_payment(D("50.00"), date=date(2026, 10, 5))
    invoice.refresh_from_db()
    assert invoice.status == "sent"
    invoice.record_payment(D("58.25"), date=date(2026, 10, 9), method="card")
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert invoice.paid_at.date() == date(2026, 10, 9)
    assert Payment.objects.filter(invoice=invoice, source="app").count() == 2


def test_life_cycle_guards_explain_the_fix(us_contact):
    empty = make_invoice(us_contact, [])
    with pytest.raises(ValidationError, match="Add at least one line"):
        empty.send()
    paid = make_invoice(us_contact, [{"unit_price": D("5")}], status="paid")
    with pytest.raises(ValidationError, match="refund or credit memo"):
        paid.void()
    with pytest.raises(ValidationError, match="only draft invoices"):
        paid.send()
    void = make_invoice(us_contact, [{"unit_price": D("5")}], status="void")
    with pytest.raises(ValidationError, match="void"):
        void.mark_paid()


def test_invoice_number_fits_quickbooks_doc_number():
    assert Invoice._meta.get_field("number").max_length == 21


def test_amounts_are_decimal_after_reload(us_contact):
    invoice = make_invoice(us_contact, [{"quantity": D("1.3333"), "unit_price": D("9.99")}])
    line = invoice.lines.get()
    assert line.quantity == Decimal("1.3333")
    assert line.amount == Decimal("13.32")
