"""Helpers shared by the history, command and API tests: the example product's
workspaces, people and records. (A connected ``Connection`` comes from the plugin's
``qbo_connect`` / ``qbo_connection`` fixtures.)"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model

from example_project.billing.models import Contact, Invoice, InvoiceLine, Membership, Workspace


def workspaces() -> tuple[Workspace, Workspace]:
    us = Workspace.objects.create(name="Acme US", slug="default", country="US",
                                  home_currency="USD")
    uk = Workspace.objects.create(name="Acme UK", slug="uk", country="GB",
                                  home_currency="GBP", default_tax_rate=Decimal("20.00"))
    return us, uk


def people(us: Workspace, uk: Workspace) -> dict[str, Any]:
    """admin, manager, member of ``us``; uk_admin admin of ``uk`` only."""
    model = get_user_model()
    users = {name: model.objects.create_user(name, password=name)
             for name in ("admin", "manager", "member", "uk_admin")}
    for name in ("admin", "manager", "member"):
        Membership.objects.create(user=users[name], workspace=us, role=name)
    Membership.objects.create(user=users["uk_admin"], workspace=uk, role="admin")
    return users


def contact(workspace: Workspace, name: str) -> Contact:
    return Contact.objects.create(workspace=workspace, display_name=name,
                                  email=f"{name.lower().replace(' ', '.')}@example.com")


def invoice(person: Contact, number: str, issued: date, *,
            status: str = Invoice.Status.SENT) -> Invoice:
    inv = Invoice.objects.create(workspace=person.workspace, contact=person, number=number,
                                 issue_date=issued, due_date=issued + timedelta(days=30),
                                 status=status)
    InvoiceLine.objects.create(invoice=inv, position=0, description="Design work",
                               quantity=Decimal("2"), unit_price=Decimal("75.00"),
                               category="design")
    return inv
