"""The adapters qbo_sync loads from settings: neutral data out, QuickBooks changes in."""

from datetime import date
from decimal import Decimal

import pytest

from example_project.billing import qbo
from example_project.billing.models import (
    CreditMemo,
    CreditMemoLine,
    Invoice,
    Payment,
    Refund,
    RefundLine,
    Task,
)
from qbo_sync.adapters import adapter_for_model, get_adapter
from qbo_sync.data import (
    ContactData,
    CreditMemoData,
    InvoiceData,
    LineData,
    PaymentData,
    PulledPayment,
    RefundData,
)

from .conftest import make_invoice

D = Decimal


@pytest.fixture
def us_invoice(us_contact):
    return make_invoice(us_contact, [
        {"category": "hosting", "description": "Managed hosting", "quantity": D("1"),
         "unit_price": D("199.00"), "tax_rate": D("8.25")},
        {"category": "development", "description": "API work", "quantity": D("7.25"),
         "unit_price": D("120.00"), "discount": D("50.00"), "tax_rate": D("0")},
    ], status="sent", memo="Thanks!", notes="PO 4471")


@pytest.fixture
def uk_invoice(uk_contact):
    return make_invoice(uk_contact, [
        {"category": "design", "description": "Brand refresh", "quantity": D("3.5"),
         "unit_price": D("85.00"), "tax_rate": D("20")},
        {"category": "support", "description": "Retainer", "quantity": D("1"),
         "unit_price": D("60.00"), "tax_rate": D("5.0")},
    ], status="sent", currency="EUR")


def test_settings_load_these_adapters():
    assert isinstance(get_adapter("invoice"), qbo.InvoiceAdapter)
    kind, adapter = adapter_for_model(Payment)
    assert kind == "payment" and isinstance(adapter, qbo.PaymentAdapter)
    for kind, model in [("contact", "billing.Contact"), ("credit_memo", "billing.CreditMemo"),
                        ("refund", "billing.Refund")]:
        assert get_adapter(kind).model == model
        assert get_adapter(kind).get_model()._meta.label == model


def test_us_invoice_to_data(us_invoice):
    adapter = qbo.InvoiceAdapter()
    data = adapter.to_data(us_invoice)
    assert isinstance(data, InvoiceData)
    assert data.key == str(us_invoice.pk)
    assert data.workspace == "default"
    assert data.contact_key == str(us_invoice.contact_id)
    assert (data.number, data.status, data.currency) == (us_invoice.number, "sent", "USD")
    assert data.issue_date == date(2026, 10, 1) and data.due_date == date(2026, 10, 31)
    assert (data.memo, data.private_note) == ("Thanks!", "PO 4471")
    assert data.lines == (
        LineData(description="Managed hosting", quantity=D("1"), unit_price=D("199.00"),
                 category="hosting", tax_rate="8.25", discount=D("0")),
        LineData(description="API work", quantity=D("7.25"), unit_price=D("120.00"),
                 category="development", tax_rate="0.00", discount=D("50.00")),
    )
    for line in data.lines:
        assert all(isinstance(v, Decimal) for v in (line.quantity, line.unit_price,
                                                    line.discount))
        assert isinstance(line.tax_rate, str)
    assert adapter.workspace_of(us_invoice) == "default"
    assert adapter.status_of(us_invoice) == "sent"
    assert adapter.contact_of(us_invoice) == us_invoice.contact


def test_uk_invoice_to_data_keys_are_stable(uk_invoice):
    data = qbo.InvoiceAdapter().to_data(uk_invoice)
    assert (data.workspace, data.currency) == ("uk", "EUR")
    assert [line.tax_rate for line in data.lines] == ["20.00", "5.00"]
    assert [line.category for line in data.lines] == ["design", "support"]
    # Reloading (rates come back from the database as 20.00 / 5.00) gives the same data.
    again = qbo.InvoiceAdapter().to_data(Invoice.objects.get(pk=uk_invoice.pk))
    assert again == data


def test_drafts_do_not_sync_until_sent(us_contact):
    adapter = qbo.InvoiceAdapter()
    invoice = make_invoice(us_contact, [{"unit_price": D("1")}])
    assert adapter.should_sync(invoice) is False
    invoice.send()
    assert adapter.should_sync(invoice) is True


def test_contact_to_data(us_contact, uk_contact):
    adapter = qbo.ContactAdapter()
    us = adapter.to_data(us_contact)
    assert isinstance(us, ContactData)
    assert (us.key, us.workspace, us.currency) == (str(us_contact.pk), "default", "USD")
    assert us.display_name == "Northwind Analytics LLC"
    assert us.billing_address.city == "Austin" and us.billing_address.region == "TX"
    uk = adapter.to_data(uk_contact)
    assert (uk.workspace, uk.currency, uk.display_name) == ("uk", "GBP", "Maria O'Brien")
    assert uk.billing_address.postal_code == "EC1A 1BB"
    assert "display_name" in adapter.watched_fields


def test_payment_to_data_and_echo_guard(uk_invoice):
    payment = uk_invoice.record_payment(D("100.005"), date=date(2026, 10, 9),
                                        method="bank_transfer", reference="BACS-1")
    adapter = qbo.PaymentAdapter()
    data = adapter.to_data(payment)
    assert data == PaymentData(
        key=str(payment.pk), workspace="uk", invoice_key=str(uk_invoice.pk),
        contact_key=str(uk_invoice.contact_id), amount=D("100.01"), date=date(2026, 10, 9),
        currency="EUR", method="bank_transfer", reference="BACS-1",
    )
    assert adapter.invoice_of(payment) == uk_invoice
    assert adapter.should_sync(payment) is True
    payment.source = Payment.Source.QUICKBOOKS
    assert adapter.should_sync(payment) is False


def test_credit_memo_and_refund_to_data(uk_invoice):
    contact = uk_invoice.contact
    memo = CreditMemo.objects.create(workspace=contact.workspace, contact=contact,
                                     invoice=uk_invoice, number="CM-00001",
                                     date=date(2026, 10, 3), memo="Goodwill")
    CreditMemoLine.objects.create(credit_memo=memo, description="Service credit",
                                  unit_price=D("25.00"), tax_rate=D("20"), category="support")
    data = qbo.CreditMemoAdapter().to_data(memo)
    assert isinstance(data, CreditMemoData)
    assert (data.number, data.currency, data.invoice_key) == ("CM-00001", "GBP",
                                                              str(uk_invoice.pk))
    assert data.lines[0].tax_rate == "20.00" and data.lines[0].unit_price == D("25.00")

    refund = Refund.objects.create(workspace=contact.workspace, contact=contact,
                                   number="RF-00001", date=date(2026, 10, 4), currency="EUR",
                                   method="card", reference="R-9")
    RefundLine.objects.create(refund=refund, description="Refund", unit_price=D("10.00"))
    data = qbo.RefundAdapter().to_data(refund)
    assert isinstance(data, RefundData)
    assert (data.workspace, data.currency, data.method, data.reference) == (
        "uk", "EUR", "card", "R-9")
    assert data.lines[0].tax_rate == "0.00"
    assert qbo.RefundAdapter().workspace_of(refund) == "uk"


def test_mark_paid_from_quickbooks_completes_task(us_invoice):
    task = Task.objects.create(workspace=us_invoice.workspace, contact=us_invoice.contact,
                               title="Hosting", status=Task.Status.INVOICED, invoice=us_invoice)
    qbo.InvoiceAdapter().mark_paid(us_invoice, paid_at="2026-11-02T10:00:00+00:00")
    us_invoice.refresh_from_db()
    task.refresh_from_db()
    assert us_invoice.status == "paid" and us_invoice.paid_at.date() == date(2026, 11, 2)
    assert task.status == Task.Status.COMPLETED
    assert "paid in QuickBooks on 2026-11-02" in task.note


def test_mark_paid_leaves_void_invoices_alone(us_invoice):
    us_invoice.void()
    qbo.InvoiceAdapter().mark_paid(us_invoice, paid_at=date(2026, 11, 2))
    us_invoice.refresh_from_db()
    assert us_invoice.status == "void"


def test_record_payment_once_per_quickbooks_id(us_invoice):
    adapter = qbo.InvoiceAdapter()
    pulled = PulledPayment(qbo_id="145", amount=D("300.00"), date=date(2026, 10, 20),
                           method="Visa", reference="4242")
    first = adapter.record_payment(us_invoice, pulled)
    again = adapter.record_payment(us_invoice, pulled)
    assert first.pk == again.pk
    assert Payment.objects.filter(invoice=us_invoice).count() == 1
    assert (first.source, first.external_ref, first.method) == ("quickbooks", "145", "card")
    assert first.amount == D("300.00")
    us_invoice.refresh_from_db()
    assert us_invoice.status == "sent"  # only partly paid

    rest = PulledPayment(qbo_id="146", amount=us_invoice.balance, date=date(2026, 10, 25))
    adapter.record_payment(us_invoice, rest)
    us_invoice.refresh_from_db()
    assert us_invoice.status == "paid"
    assert us_invoice.balance == D("0.00")


@pytest.mark.parametrize(("name", "method"), [
    ("Cash", "cash"), ("Check", "check"), ("MasterCard", "card"), ("ACH", "bank_transfer"),
    ("Gift voucher", "other"), ("", ""),
])
def test_quickbooks_payment_method_names(name, method):
    assert qbo.payment_method_from_qbo(name) == method


def test_record_payment_refuses_a_reference_longer_than_its_field(us_invoice):
    from django.core.exceptions import ValidationError

    limit = Payment._meta.get_field("reference").max_length
    pulled = PulledPayment(qbo_id="145", amount=D("10.00"), date=date(2026, 10, 20),
                           reference="R" * (limit + 1))
    with pytest.raises(ValidationError) as err:
        qbo.InvoiceAdapter().record_payment(us_invoice, pulled)
    assert list(err.value.message_dict) == ["reference"]
    assert f"at most {limit} characters" in err.value.message_dict["reference"][0]
    assert not Payment.objects.exists()
