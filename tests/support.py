"""Helpers shared by the configuration, history, command and API tests: connections to
the simulator's companies and the example product's people and records."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from example_project.billing.models import Contact, Invoice, InvoiceLine, Membership, Workspace
from qbo_sync.models import KEY_CANARY, Connection


def connect_realm(sim: Any, workspace: str, realm: str) -> Connection:
    """A connected Connection for ``workspace`` ↔ ``realm`` with fresh simulator tokens."""
    tokens = sim.identity.issue_tokens(realm, include_hard_expiry=True)
    company = next(r for r in sim.store.realms() if r["realm_id"] == realm)
    now = timezone.now()
    return Connection.objects.create(
        workspace=workspace, realm_id=realm, company_name=company["name"],
        environment="simulator", status=Connection.Status.CONNECTED,
        access_token=tokens["access_token"], refresh_token=tokens["refresh_token"],
        key_canary=KEY_CANARY,
        access_token_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
        refresh_token_expires_at=now + timedelta(
            seconds=int(tokens["x_refresh_token_expires_in"])),
        refresh_token_hard_expires_at=now + timedelta(
            seconds=int(tokens["x_refresh_token_hard_expires_in"])),
        token_refreshed_at=now, connected_at=now,
    )


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
