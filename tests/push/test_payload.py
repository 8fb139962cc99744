"""Payload rules, checked on what the simulator stored (docs/qbo-rules.md §5)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from example_project.billing.models import Contact
from qbo_sync.models import EntityLink, ItemMapping
from qbo_sync.testing.simulator.companies import UK_REALM

from .conftest import item_ids, job_for, qbo, send_invoice


def _sales(invoice: dict) -> list[dict]:
    return [ln for ln in invoice["Line"] if ln["DetailType"] == "SalesItemLineDetail"]


def test_display_name_is_cleaned_and_falls_back_to_company(qbo_simulator, connected,
                                                             us_workspace):
    Contact.objects.create(workspace=us_workspace, display_name="Acme:\tWidgets\nLtd")
    Contact.objects.create(workspace=us_workspace, display_name="  ", company_name="Initech")
    names = sorted(c["DisplayName"] for c in qbo(qbo_simulator, "Customer"))
    assert len(names) == 2
    assert "Initech" in names
    other = next(n for n in names if n != "Initech")
    assert ":" not in other and "\t" not in other and "\n" not in other
    assert "Acme" in other and "Widgets" in other


def test_app_number_strategy_cuts_long_numbers_and_keeps_full_in_note(
        qbo_simulator, connected, contact):
    # The host allows 21 characters; the mapping still guards longer numbers, so go
    # through the adapter data with a 21-character number and check it is kept whole.
    invoice = send_invoice(contact, number="INV-2026-000000000001")
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert qinv["DocNumber"] == invoice.number
    assert len(qinv["DocNumber"]) == 21


def test_long_number_cut_to_21_with_full_number_in_private_note(qbo_simulator, connected,
                                                                 contact, monkeypatch):
    from example_project.billing.qbo import InvoiceAdapter

    original = InvoiceAdapter.to_data

    def longer(self, obj):
        from dataclasses import replace

        return replace(original(self, obj), number="ACME-WEST-" + obj.number + "-2026-XYZ")

    monkeypatch.setattr(InvoiceAdapter, "to_data", longer)
    send_invoice(contact, number="INV-00042")
    [qinv] = qbo(qbo_simulator, "Invoice")
    full = "ACME-WEST-INV-00042-2026-XYZ"
    assert qinv["DocNumber"] == full[-21:]
    assert f"Full number: {full}" in qinv["PrivateNote"]


def test_qbo_number_strategy_sends_no_number(qbo_simulator, connected, contact):
    connected.invoice_number_strategy = "qbo"
    connected.save()
    invoice = send_invoice(contact, number="MY-OWN-7")
    job = job_for(invoice)
    assert "DocNumber" not in job.payload
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert qinv["DocNumber"] and qinv["DocNumber"] != "MY-OWN-7"  # QBO numbered it
    assumed = qinv["DocNumber"]
    # An edit keeps QBO's number (a full update without DocNumber would clear it).
    invoice.memo = "edited"
    invoice.save()
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert qinv["CustomerMemo"]["value"] == "edited"
    assert qinv["DocNumber"] == assumed


def test_lines_map_items_by_category_else_default(qbo_simulator, connected, contact):
    items = item_ids(qbo_simulator)
    ItemMapping.objects.create(connection=connected, category="design",
                               item_id=items["Design"], item_name="Design")
    send_invoice(contact)
    [qinv] = qbo(qbo_simulator, "Invoice")
    lines = _sales(qinv)
    assert [ln["SalesItemLineDetail"]["ItemRef"]["value"] for ln in lines] == [
        items["Design"], items["Services"]]
    assert [ln["Description"] for ln in lines] == ["Logo design", "Website build"]
    assert Decimal(str(lines[1]["Amount"])) == Decimal("997.50")  # 10.5 × 95


def test_us_tax_codes_are_tax_or_non(qbo_simulator, connected, contact):
    send_invoice(contact)
    [qinv] = qbo(qbo_simulator, "Invoice")
    codes = [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in _sales(qinv)]
    assert codes == ["NON", "TAX"]
    assert "GlobalTaxCalculation" not in qinv


def test_a_line_discount_is_the_line_s_net_price(qbo_simulator, connected, contact):
    lines = [{"category": "design", "description": "Logo", "quantity": Decimal("2"),
              "unit_price": Decimal("100.00"), "discount": Decimal("15.00")}]
    invoice = send_invoice(contact, lines=lines)
    [qinv] = qbo(qbo_simulator, "Invoice")
    [sale] = _sales(qinv)
    assert Decimal(str(sale["Amount"])) == Decimal("185.00")
    assert Decimal(str(sale["SalesItemLineDetail"]["UnitPrice"])) == Decimal("92.50")
    assert sale["Description"] == "Logo (2 × 100, less discount 15.00)"
    assert not [ln for ln in qinv["Line"] if ln["DetailType"] == "DiscountLineDetail"]
    assert Decimal(str(qinv["TotalAmt"])) == invoice.total == Decimal("185.00")


def test_uk_company_real_tax_codes_and_global_tax_calculation(qbo_simulator, uk_connected,
                                                               uk_contact):
    codes = {c["Name"]: c["Id"] for c in qbo_simulator.store.all(UK_REALM, "TaxCode")}
    lines = [{"category": "design", "description": "Design", "quantity": Decimal("1"),
              "unit_price": Decimal("100.00"), "tax_rate": Decimal("20.00")},
             {"category": "support", "description": "Books", "quantity": Decimal("1"),
              "unit_price": Decimal("10.00"), "tax_rate": Decimal("0")}]
    invoice = send_invoice(uk_contact, number="UK-1", lines=lines)
    assert job_for(invoice).status == "succeeded", job_for(invoice).error_message
    [qinv] = qbo(qbo_simulator, "Invoice", UK_REALM)
    assert [ln["SalesItemLineDetail"]["TaxCodeRef"]["value"] for ln in _sales(qinv)] == [
        codes["20.0% S"], codes["0.0% Z"]]
    assert qinv["GlobalTaxCalculation"] == "TaxExcluded"
    assert qinv["CurrencyRef"]["value"] == "GBP"
    assert Decimal(str(qinv["TotalAmt"])) == invoice.total == Decimal("130.00")


def test_foreign_currency_invoice_gets_a_second_customer(qbo_simulator, uk_connected,
                                                          uk_contact):
    send_invoice(uk_contact, number="UK-GBP", lines=[
        {"description": "A", "quantity": Decimal("1"), "unit_price": Decimal("10.00"),
         "tax_rate": Decimal("20.00")}])
    eur = send_invoice(uk_contact, number="UK-EUR", currency="EUR", lines=[
        {"description": "B", "quantity": Decimal("1"), "unit_price": Decimal("10.00"),
         "tax_rate": Decimal("20.00")}])
    assert job_for(eur).status == "succeeded", job_for(eur).error_message
    customers = {c["DisplayName"]: c for c in qbo(qbo_simulator, "Customer", UK_REALM)}
    assert set(customers) == {"Maria O'Brien", "Maria O'Brien (EUR)"}
    assert customers["Maria O'Brien (EUR)"]["CurrencyRef"]["value"] == "EUR"
    invoices = {i["DocNumber"]: i for i in qbo(qbo_simulator, "Invoice", UK_REALM)}
    assert invoices["UK-EUR"]["CustomerRef"]["value"] == customers["Maria O'Brien (EUR)"]["Id"]
    assert invoices["UK-EUR"]["CurrencyRef"]["value"] == "EUR"
    # The exchange rate QBO used is stored on the link.
    link = EntityLink.objects.get(qbo_type="Invoice", qbo_id=invoices["UK-EUR"]["Id"])
    assert link.exchange_rate == Decimal(str(invoices["UK-EUR"]["ExchangeRate"]))
    assert link.exchange_rate_source
    assert EntityLink.objects.filter(qbo_type="Customer", variant="EUR").count() == 1


def test_payload_is_stored_masked(qbo_simulator, connected, contact):
    job = job_for(contact)
    assert job.payload["PrimaryEmailAddr"]["Address"] == "***@northwind.example"
    assert "555-0100" not in str(job.payload)
    assert job.response.get("Id")


def test_credit_memo_in_one_transaction(qbo_simulator, connected, contact):
    from .conftest import make_credit_memo

    with transaction.atomic():
        make_credit_memo(contact)
    assert len(qbo(qbo_simulator, "CreditMemo")) == 1
