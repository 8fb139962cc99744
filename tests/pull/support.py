"""Helpers shared by the pull, webhook and schedule tests (and ``benchmarks/``): host
invoices linked to invoices in the simulator. The ``host_contact`` and ``qbo_customer``
fixtures they take are in ``tests/conftest.py``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.test import override_settings

from example_project.billing.models import Contact, Invoice, InvoiceLine
from qbo_sync.conf import app_settings
from qbo_sync.connection.clients import client_for
from qbo_sync.models import Connection, EntityLink
from qbo_sync.testing.simulator.companies import US_REALM

D = Decimal
HUNDRED = D("100.00")
FIFTY = D("50.00")
ITEM_ID = "1"  # "Services", seeded in every simulated company


def host_invoice(contact: Contact, amount: Decimal = HUNDRED, *,
                 status: str = Invoice.Status.SENT, number: str | None = None) -> Invoice:
    invoice = Invoice.objects.create(
        workspace=contact.workspace, contact=contact, status=status,
        number=number or f"INV-{Invoice.objects.count() + 1:05d}",
        issue_date=date(2026, 10, 1), due_date=date(2026, 10, 31), currency="USD",
    )
    InvoiceLine.objects.create(invoice=invoice, description="Design work", quantity=D("1"),
                               unit_price=amount, category="design", tax_rate=D("0"))
    return invoice


def qbo_invoice_body(customer_id: str, amount: Decimal, number: str) -> dict:
    return {
        "CustomerRef": {"value": customer_id},
        "DocNumber": number,
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": amount,
                  "SalesItemLineDetail": {"ItemRef": {"value": ITEM_ID}, "Qty": D("1"),
                                          "UnitPrice": amount}}],
    }


def link(conn: Connection, invoice: Invoice, qbo: dict) -> EntityLink:
    return EntityLink.objects.create(
        connection=conn, content_type=ContentType.objects.get_for_model(Invoice),
        object_id=str(invoice.pk), qbo_type="Invoice", qbo_id=qbo["Id"],
        sync_token=qbo["SyncToken"], doc_number=invoice.number,
    )


def linked_invoice(conn: Connection, contact: Contact, customer_id: str,
                   amount: Decimal = HUNDRED) -> tuple[Invoice, dict]:
    """A sent host invoice and its QBO invoice, linked as a push would leave them."""
    invoice = host_invoice(contact, amount)
    with client_for(conn) as client:
        qbo = client.create("Invoice", qbo_invoice_body(customer_id, amount, invoice.number))
    link(conn, invoice, qbo)
    return invoice, qbo


def many_linked_invoices(conn: Connection, contact: Contact, customer_id: str, count: int,
                         amount: Decimal = FIFTY) -> None:
    """``count`` open invoices on both sides, created in bulk (QBO batch, 30 per call)."""
    start = Invoice.objects.count()
    numbers = [f"BULK-{start + i + 1:05d}" for i in range(count)]
    hosts = Invoice.objects.bulk_create([
        Invoice(workspace=contact.workspace, contact=contact, status=Invoice.Status.SENT,
                number=n, currency="USD", issue_date=date(2026, 10, 1)) for n in numbers
    ])
    items = [{"operation": "create", "Invoice": qbo_invoice_body(customer_id, amount, n)}
             for n in numbers]
    with client_for(conn) as client:
        results = client.batch(items)
    ct = ContentType.objects.get_for_model(Invoice)
    links = []
    for host, result in zip(hosts, results, strict=True):
        assert result["error"] is None, result["error"]
        qbo = result["Invoice"]
        links.append(EntityLink(connection=conn, content_type=ct, object_id=str(host.pk),
                                qbo_type="Invoice", qbo_id=qbo["Id"],
                                sync_token=qbo["SyncToken"], doc_number=host.number))
    EntityLink.objects.bulk_create(links)


def api_calls(sim, realm: str = US_REALM) -> list:
    """Accounting API requests the simulator received for ``realm``."""
    return [r for r in sim.requests_log if r.realm == realm]


def webhooks_on(**extra):
    """``override_settings`` turning webhooks on (keeps the rest of QBO_SYNC)."""
    current = dict(app_settings.user_settings)
    return override_settings(QBO_SYNC={
        **current, "WEBHOOKS_ENABLED": True,
        "WEBHOOK_VERIFIER_TOKEN": "simulator-verifier-token", **extra,
    })
