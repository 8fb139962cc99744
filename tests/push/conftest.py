"""Fixtures for push-sync tests: the example product connected to the simulator."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from example_project.billing.models import Contact, Invoice, InvoiceLine, Workspace
from qbo_sync.testing.simulator.companies import US_REALM


@pytest.fixture
def us_workspace(transactional_db) -> Workspace:
    return Workspace.objects.create(name="Acme US", slug="default", country="US",
                                    home_currency="USD")


@pytest.fixture
def connected(qbo_simulator, qbo_connection, us_workspace):
    """The "default" workspace connected to the simulator's US company, with the
    default item and deposit account chosen, connected a week ago."""
    store = qbo_simulator.store
    items = {i["Name"]: i["Id"] for i in store.all(US_REALM, "Item")}
    accounts = store.all(US_REALM, "Account")
    deposit = next(a for a in accounts if a.get("AccountSubType") == "UndepositedFunds")
    qbo_connection.default_item_id = items["Services"]
    qbo_connection.default_deposit_account_id = deposit["Id"]
    qbo_connection.connected_at = timezone.now() - timedelta(days=7)
    qbo_connection.save()
    return qbo_connection


@pytest.fixture
def contact(us_workspace) -> Contact:
    return Contact.objects.create(
        workspace=us_workspace, display_name="Northwind Analytics LLC",
        company_name="Northwind Analytics LLC", email="billing@northwind.example",
        phone="+1 512-555-0100", address_line1="1 Market St", city="Austin", region="TX",
        postal_code="78701", country="US", currency="USD",
    )


def make_invoice(contact: Contact, *, number: str = "INV-00001", lines=None, **fields) -> Invoice:
    today = timezone.localdate()
    invoice = Invoice.objects.create(
        workspace=contact.workspace, contact=contact, number=number,
        issue_date=fields.pop("issue_date", today), due_date=today + timedelta(days=30),
        currency="USD", **fields,
    )
    for position, line in enumerate(lines or [
        {"category": "design", "description": "Logo design", "quantity": Decimal("3"),
         "unit_price": Decimal("120.00"), "tax_rate": Decimal("0")},
        {"category": "development", "description": "Website build",
         "quantity": Decimal("10.5"), "unit_price": Decimal("95.00"),
         "tax_rate": Decimal("8.25")},
    ]):
        InvoiceLine.objects.create(invoice=invoice, position=position, **line)
    return invoice


def qbo(sim, entity: str) -> list[dict]:
    return sim.store.all(US_REALM, entity)


__all__ = ["date", "make_invoice", "qbo"]
