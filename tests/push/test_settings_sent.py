"""Settings that do what they say, checked by reading what QuickBooks stored."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.contenttypes.models import ContentType

from example_project.billing.models import Invoice
from qbo_sync.models import EntityLink
from qbo_sync.sync import links

from .conftest import job_for, qbo, send_invoice

UNMAPPED_RATE = [{"category": "design", "description": "Consulting", "quantity": Decimal("1"),
                  "unit_price": Decimal("100.00"), "tax_rate": Decimal("5.00")}]


def _ar_account(sim) -> str:
    return next(a["Id"] for a in qbo(sim, "Account")
                if a.get("AccountType") == "Accounts Receivable")


def test_the_ar_account_is_sent_with_payments(qbo_simulator, connected, contact):
    connected.ar_account_id = _ar_account(qbo_simulator)
    connected.save()
    invoice = send_invoice(contact)
    payment = invoice.record_payment(invoice.total)
    assert job_for(payment).status == "succeeded", job_for(payment).error_message
    [qpay] = qbo(qbo_simulator, "Payment")
    assert qpay["ARAccountRef"]["value"] == connected.ar_account_id


def test_no_ar_account_setting_sends_none(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    invoice.record_payment(invoice.total)
    [qpay] = qbo(qbo_simulator, "Payment")
    assert "ARAccountRef" not in qpay


def test_us_default_tax_code_is_the_fallback_for_unmapped_rates(qbo_simulator, connected,
                                                                contact):
    connected.default_tax_code_id = "NON"
    connected.save()
    send_invoice(contact, lines=UNMAPPED_RATE)
    [qinv] = qbo(qbo_simulator, "Invoice")
    [line] = [ln for ln in qinv["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    assert line["SalesItemLineDetail"]["TaxCodeRef"]["value"] == "NON"


def test_without_a_default_a_us_rate_is_taxable(qbo_simulator, connected, contact):
    send_invoice(contact, lines=UNMAPPED_RATE)
    [qinv] = qbo(qbo_simulator, "Invoice")
    [line] = [ln for ln in qinv["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    assert line["SalesItemLineDetail"]["TaxCodeRef"]["value"] == "TAX"


def test_exchange_rate_source_is_quickbooks_when_it_chose_the_rate(qbo_simulator,
                                                                   uk_connected, uk_contact):
    eur = send_invoice(uk_contact, number="UK-EUR", currency="EUR", lines=[
        {"description": "B", "quantity": Decimal("1"), "unit_price": Decimal("10.00"),
         "tax_rate": Decimal("20.00")}])
    link = EntityLink.objects.get(content_type=ContentType.objects.get_for_model(Invoice),
                                  object_id=str(eur.pk))
    assert link.exchange_rate_source == "quickbooks"
    assert link.exchange_rate is not None and link.exchange_rate_at is not None


def test_exchange_rate_source_is_the_app_when_the_payload_carried_it(qbo_simulator,
                                                                      uk_connected, uk_contact):
    invoice = send_invoice(uk_contact, number="UK-1", lines=[
        {"description": "A", "quantity": Decimal("1"), "unit_price": Decimal("10.00"),
         "tax_rate": Decimal("20.00")}])
    link = links.find_link(uk_connected, invoice)
    links.record_write(link, {"Id": link.qbo_id, "ExchangeRate": "0.85"},
                       {"ExchangeRate": Decimal("0.85")})
    link.refresh_from_db()
    assert (link.exchange_rate, link.exchange_rate_source) == (Decimal("0.85"), "app")
