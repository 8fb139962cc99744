"""Preflight: what QBO would reject is stopped before any call, with the fix named."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import transaction

from example_project.billing.models import Contact, Invoice
from qbo_sync.sync import outbox

from .conftest import api_calls, job_for, make_invoice, send_invoice


@pytest.fixture
def warm(qbo_simulator, connected, contact):
    """Capabilities cached and the contact linked: from here on a push that fails
    preflight must not call QBO at all."""
    assert job_for(contact).status == "succeeded"
    qbo_simulator.clear_log()
    return qbo_simulator


def _failed_without_call(sim, obj, *needles: str) -> None:
    job = job_for(obj)
    assert job is not None and job.status == "failed", job and job.error_message
    for needle in needles:
        assert needle in job.error_message, job.error_message
    assert job.attempts == 1
    assert api_calls(sim) == [], [(r.method, r.path) for r in api_calls(sim)]


def test_contact_without_a_name(warm, us_workspace):
    nameless = Contact.objects.create(workspace=us_workspace, display_name=" ",
                                      email="x@example.com")
    _failed_without_call(warm, nameless, "has no name",
                         "give the contact a name or a company name")


def test_currency_the_company_lacks(warm, contact):
    invoice = send_invoice(contact, currency="EUR")
    _failed_without_call(warm, invoice, "EUR", "only uses USD", "Multicurrency")


def test_invoice_without_lines(warm, contact):
    invoice = make_invoice(contact, lines=[])
    with transaction.atomic():
        Invoice.objects.filter(pk=invoice.pk).update(status="sent")
        invoice.refresh_from_db()
        outbox.enqueue("invoice", invoice)
    _failed_without_call(warm, invoice, "has no lines", "add at least one line")


def test_line_without_price(warm, contact, monkeypatch):
    from example_project.billing.qbo import InvoiceAdapter

    original = InvoiceAdapter.to_data

    def no_price(self, obj):
        data = original(self, obj)
        return replace(data, lines=tuple(replace(ln, unit_price=None) for ln in data.lines))

    monkeypatch.setattr(InvoiceAdapter, "to_data", no_price)
    invoice = send_invoice(contact)
    _failed_without_call(warm, invoice, "has no unit price", "set a price")


def test_unmapped_tax_rate_in_a_non_us_company(qbo_simulator, uk_connected, uk_contact):
    assert job_for(uk_contact).status == "succeeded"
    qbo_simulator.clear_log()
    invoice = send_invoice(uk_contact, number="UK-5", lines=[
        {"description": "Children's car seat", "quantity": Decimal("1"),
         "unit_price": Decimal("80.00"), "tax_rate": Decimal("5.00")}])
    _failed_without_call(qbo_simulator, invoice, "Tax rate 5.00 is not mapped",
                         "Settings → Tax mappings")


def test_preflight_runs_before_the_customer_is_pushed(qbo_simulator, connected,
                                                      us_workspace):
    from qbo_sync import receivers

    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace, display_name="Late Co")
    qbo_simulator.clear_log()
    invoice = send_invoice(contact, currency="EUR")
    assert job_for(invoice).status == "failed"
    assert not [r for r in api_calls(qbo_simulator) if r.method == "POST"
                and not r.path.endswith("/query")]
