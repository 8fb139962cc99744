"""Fixtures for the example host product's tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from example_project.billing.models import (
    Contact,
    Invoice,
    InvoiceLine,
    Membership,
    Workspace,
)


@pytest.fixture
def us_workspace(db) -> Workspace:
    return Workspace.objects.create(
        name="Acme US", slug="default", country="US", home_currency="USD"
    )


@pytest.fixture
def uk_workspace(db) -> Workspace:
    return Workspace.objects.create(
        name="Acme UK", slug="uk", country="GB", home_currency="GBP",
        default_tax_rate=Decimal("20.00"), payment_terms_days=14,
    )


@pytest.fixture
def us_contact(us_workspace) -> Contact:
    return Contact.objects.create(
        workspace=us_workspace, display_name="Northwind Analytics LLC",
        company_name="Northwind Analytics LLC", email="billing@northwind.example",
        phone="+1 512-555-0100", address_line1="1 Market St", city="Austin", region="TX",
        postal_code="78701", country="US", currency="USD",
    )


@pytest.fixture
def uk_contact(uk_workspace) -> Contact:
    return Contact.objects.create(
        workspace=uk_workspace, display_name="Maria O'Brien", email="hello@obrien.example",
        city="London", postal_code="EC1A 1BB", country="GB",
    )


def make_invoice(contact: Contact, lines: list[dict], **fields) -> Invoice:
    """An invoice with lines given as dicts of InvoiceLine fields."""
    defaults = {"number": f"INV-{Invoice.objects.count() + 1:05d}",
                "issue_date": date(2026, 10, 1), "due_date": date(2026, 10, 31)}
    invoice = Invoice.objects.create(
        workspace=contact.workspace, contact=contact, **{**defaults, **fields}
    )
    for position, line in enumerate(lines):
        InvoiceLine.objects.create(invoice=invoice, position=position, **line)
    return invoice


@pytest.fixture
def people(us_workspace, uk_workspace):
    """admin, manager and member of the US workspace; ``uk_admin`` admin of the UK one
    only; ``root`` a superuser with no membership."""
    user_model = get_user_model()
    users = {name: user_model.objects.create_user(name, password=name)
             for name in ("admin", "manager", "member", "uk_admin")}
    users["root"] = user_model.objects.create_superuser("root", password="root")
    for name in ("admin", "manager", "member"):
        Membership.objects.create(user=users[name], workspace=us_workspace, role=name)
    Membership.objects.create(user=users["uk_admin"], workspace=uk_workspace, role="admin")
    return users
