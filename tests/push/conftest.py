"""Fixtures for push-sync tests: the example product connected to the simulator.

Push tests use ``transactional_db`` so ``transaction.on_commit`` dispatch really runs;
django-q2 runs tasks inline in the test settings (``sync=True``).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from example_project.billing.models import (
    Contact,
    CreditMemo,
    CreditMemoLine,
    Invoice,
    InvoiceLine,
    Refund,
    RefundLine,
    Workspace,
)
from qbo_sync.models import Connection, SyncJob, TaxMapping
from qbo_sync.sync import engine
from qbo_sync.testing.simulator.companies import UK_REALM, US_REALM


@pytest.fixture
def us_workspace(transactional_db) -> Workspace:
    return Workspace.objects.create(name="Acme US", slug="default", country="US",
                                    home_currency="USD")


def _deposit_id(sim: Any, realm: str) -> str:
    accounts = sim.store.all(realm, "Account")
    return next(a["Id"] for a in accounts if a.get("AccountSubType") == "UndepositedFunds")


def item_ids(sim: Any, realm: str = US_REALM) -> dict[str, str]:
    return {i["Name"]: i["Id"] for i in sim.store.all(realm, "Item")}


@pytest.fixture
def connected(qbo_simulator, qbo_connect, us_workspace) -> Connection:
    """The "default" workspace connected to the simulator's US company, with the
    default item and deposit account chosen, connected a week ago."""
    return qbo_connect(
        US_REALM, connected_at=timezone.now() - timedelta(days=7),
        default_item_id=item_ids(qbo_simulator)["Services"],
        default_deposit_account_id=_deposit_id(qbo_simulator, US_REALM),
    )


@pytest.fixture
def contact(us_workspace) -> Contact:
    return Contact.objects.create(
        workspace=us_workspace, display_name="Northwind Analytics LLC",
        company_name="Northwind Analytics LLC", email="billing@northwind.example",
        phone="+1 512-555-0100", address_line1="1 Market St", city="Austin", region="TX",
        postal_code="78701", country="US", currency="USD",
    )


# A UK company: VAT codes, GlobalTaxCalculation, multicurrency GBP/EUR/USD ------------


@pytest.fixture
def uk_workspace(transactional_db) -> Workspace:
    return Workspace.objects.create(name="Acme UK", slug="uk", country="GB",
                                    home_currency="GBP", default_tax_rate=Decimal("20.00"))


@pytest.fixture
def uk_connected(qbo_simulator, qbo_connect, uk_workspace) -> Connection:
    """Workspace "uk" connected to the simulator's UK company, with tax mappings for
    the 20 % and 0 % rates and the default item and deposit account chosen."""
    sim = qbo_simulator
    conn = qbo_connect(
        UK_REALM, workspace="uk", connected_at=timezone.now() - timedelta(days=7),
        default_item_id=item_ids(sim, UK_REALM)["Services"],
        default_deposit_account_id=_deposit_id(sim, UK_REALM),
    )
    codes = {c["Name"]: c["Id"] for c in sim.store.all(UK_REALM, "TaxCode")}
    TaxMapping.objects.create(connection=conn, tax_rate="20.00", tax_code_id=codes["20.0% S"],
                              tax_code_name="20.0% S")
    TaxMapping.objects.create(connection=conn, tax_rate="0.00", tax_code_id=codes["0.0% Z"],
                              tax_code_name="0.0% Z")
    return conn


@pytest.fixture
def uk_contact(uk_workspace) -> Contact:
    return Contact.objects.create(
        workspace=uk_workspace, display_name="Maria O'Brien", email="hello@obrien.example",
        city="London", postal_code="EC1A 1BB", country="GB",
    )


# Builders ------------------------------------------------------------------------------

DEFAULT_LINES = [
    {"category": "design", "description": "Logo design", "quantity": Decimal("3"),
     "unit_price": Decimal("120.00"), "tax_rate": Decimal("0")},
    {"category": "development", "description": "Website build",
     "quantity": Decimal("10.5"), "unit_price": Decimal("95.00"),
     "tax_rate": Decimal("8.25")},
]


def make_invoice(contact: Contact, *, number: str = "INV-00001", lines=None,
                 **fields) -> Invoice:
    """A draft invoice with lines, created in one transaction (drafts never sync)."""
    today = timezone.localdate()
    with transaction.atomic():
        invoice = Invoice.objects.create(
            workspace=contact.workspace, contact=contact, number=number,
            issue_date=fields.pop("issue_date", today),
            due_date=fields.pop("due_date", today + timedelta(days=30)),
            currency=fields.pop("currency", contact.billing_currency), **fields,
        )
        for position, line in enumerate(DEFAULT_LINES if lines is None else lines):
            InvoiceLine.objects.create(invoice=invoice, position=position, **line)
    return invoice


def send_invoice(contact: Contact, **kwargs) -> Invoice:
    invoice = make_invoice(contact, **kwargs)
    invoice.send()
    return invoice


def make_credit_memo(contact: Contact, *, number: str = "CM-0001", lines=None,
                     **fields) -> CreditMemo:
    with transaction.atomic():
        memo = CreditMemo.objects.create(
            workspace=contact.workspace, contact=contact, number=number,
            currency=fields.pop("currency", contact.billing_currency), **fields,
        )
        for position, line in enumerate(lines or [
            {"category": "design", "description": "Goodwill credit",
             "quantity": Decimal("1"), "unit_price": Decimal("50.00")},
        ]):
            CreditMemoLine.objects.create(credit_memo=memo, position=position, **line)
    return memo


def make_refund(contact: Contact, *, number: str = "RF-0001", lines=None, **fields) -> Refund:
    with transaction.atomic():
        refund = Refund.objects.create(
            workspace=contact.workspace, contact=contact, number=number,
            currency=fields.pop("currency", contact.billing_currency), **fields,
        )
        for position, line in enumerate(lines or [
            {"category": "consulting", "description": "Refund of deposit",
             "quantity": Decimal("1"), "unit_price": Decimal("80.00")},
        ]):
            RefundLine.objects.create(refund=refund, position=position, **line)
    return refund


# Looking at the outcome ------------------------------------------------------------------


def qbo(sim, entity: str, realm: str = US_REALM) -> list[dict]:
    return sim.store.all(realm, entity)


def writes(sim, entity: str = "", *, method: str = "POST") -> list:
    """Write calls the simulator received (queries excluded), optionally for one entity
    path segment such as "invoice"."""
    out = []
    for rec in sim.requests_log:
        if rec.method != method or rec.path.endswith("/query") or rec.realm is None:
            continue
        if entity and rec.path.rsplit("/", 1)[-1] != entity:
            continue
        out.append(rec)
    return out


def api_calls(sim) -> list:
    return [r for r in sim.requests_log if r.realm is not None]


def jobs(**filters) -> list[SyncJob]:
    return list(SyncJob.objects.filter(**filters).order_by("pk"))


def job_for(obj: Any, **filters) -> SyncJob:
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.get_for_model(type(obj))
    return SyncJob.objects.filter(content_type=ct, object_id=str(obj.pk), **filters) \
        .order_by("-pk").first()


def run_due(job: SyncJob) -> str:
    """Make a waiting job due now and run it (as the sweeper would)."""
    SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    return engine.run_job(job.pk)


__all__ = ["date", "make_invoice", "qbo"]
