"""The dashboard in a real browser, over data made the way the app makes it: invoices
pushed to QuickBooks (the simulator, over HTTP), a contact QuickBooks refuses (its name
is a supplier's, 6240), a push that meets a 503 and waits for its retry, a payment
pulled back and a reconciliation that finds an accountant's edit. The admin opens the
dashboard from the connection list, in the light and the dark theme. Screenshots go to
docs/screenshots/ (see docs/admin.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from example_project.billing.models import Contact, Invoice, InvoiceLine, Workspace
from qbo_sync.models import ApiCallCount, EntityLink, SyncJob
from qbo_sync.pull.cycle import pull_connection
from qbo_sync.reconcile.run import start_reconciliation
from qbo_sync.testing.connections import connect_to_simulator
from qbo_sync.testing.simulator.companies import US_REALM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _invoice(ws: Workspace, contact: Contact, number: str, quantity: int) -> Invoice:
    today = timezone.localdate()
    invoice = Invoice.objects.create(workspace=ws, contact=contact, number=number,
                                     issue_date=today, due_date=today + timedelta(days=30))
    InvoiceLine.objects.create(invoice=invoice, position=0, category="design",
                               description="Brand refresh", quantity=Decimal(quantity),
                               unit_price=Decimal("125.00"))
    return invoice


@pytest.fixture
def activity(live_server: Any, qbo_sim_server: Any) -> dict[str, Any]:
    sim = qbo_sim_server
    get_user_model().objects.create_superuser("admin", password="admin")
    ws = Workspace.objects.create(name="Acme Studio US", slug="default", country="US",
                                  home_currency="USD")
    items = {i["Name"]: i["Id"] for i in sim.store.all(US_REALM, "Item")}
    deposit = next(a["Id"] for a in sim.store.all(US_REALM, "Account")
                   if a.get("AccountSubType") == "UndepositedFunds")
    conn = connect_to_simulator(sim, US_REALM, default_item_id=items["Design"],
                                default_deposit_account_id=deposit)
    northwind = Contact.objects.create(workspace=ws, display_name="Northwind Analytics LLC",
                                       country="US", currency="USD")
    sent = []
    for n in range(1, 6):
        invoice = _invoice(ws, northwind, f"INV-0020{n}", n)
        invoice.send()
        sent.append(invoice)
    # QuickBooks refuses a customer named like one of its suppliers (6240).
    Contact.objects.create(workspace=ws, display_name="Simulated Supplies Co",
                           email="ap@supplies.example", country="US", currency="USD")
    # A push that meets a 503: it waits for its automatic retry.
    sim.inject("error", status=503, method="POST", path="/invoice$", times=1)
    _invoice(ws, northwind, "INV-00206", 2).send()
    # The accountant records a payment and edits an invoice; the app pulls and reconciles.
    links = {inv.number: EntityLink.objects.get(qbo_type="Invoice", object_id=str(inv.pk))
             for inv in sent}
    sim.accountant.record_payment(US_REALM, links["INV-00201"].qbo_id, Decimal("125.00"))
    pull_connection(conn.pk)
    record = next(r for r in sim.store.all(US_REALM, "Invoice")
                  if r["Id"] == links["INV-00202"].qbo_id)
    lines = [dict(ln) for ln in record["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    detail = dict(lines[0]["SalesItemLineDetail"], Qty=Decimal("3"))
    lines[0] = {**lines[0], "Amount": Decimal("375.00"), "SalesItemLineDetail": detail}
    sim.accountant.edit_invoice(US_REALM, links["INV-00202"].qbo_id, {"Line": lines})
    start_reconciliation(conn, trigger="admin")
    statuses = list(SyncJob.objects.values_list("status", flat=True))
    assert statuses.count("failed") == 1 and statuses.count("pending") == 1
    assert ApiCallCount.objects.filter(connection=conn, source="job").exists()
    return {"url": live_server.url, "conn": conn}


def test_dashboard_walkthrough(activity: dict, chromium_page: Any, shoot: Any) -> None:
    page, url = chromium_page, activity["url"]
    page.goto(f"{url}/admin/login/?next=/admin/qbo_sync/connection/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/qbo_sync/connection/$"))

    page.click("#result_list a.button:has-text('Dashboard')")
    page.wait_for_url(re.compile(r".*/dashboard/$"))
    page.click(".qbo-windows a:has-text('1h')")
    page.wait_for_url(re.compile(r".*/dashboard/\?window=1h$"))
    cards = page.inner_text("#qbo-cards")
    assert "succeeded" in cards and "1 failed" in cards and "metered-read budget" in cards
    charts = page.locator("svg.qbo-chart")
    assert charts.count() == 8
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 40
    errors = page.text_content("#qbo-chart-errors")
    assert "6240" in errors
    assert "No data" not in page.text_content("#qbo-chart-outcomes")
    assert "No data" not in page.text_content("#qbo-chart-reconciliation")
    shoot("16-dashboard")

    # The dark theme: the same charts, text in the theme's colour.
    page.emulate_media(color_scheme="dark")
    page.reload()
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    text = page.evaluate("getComputedStyle(document.querySelector('svg.qbo-chart')).color")
    assert background != "rgb(255, 255, 255)" and text != "rgb(51, 51, 51)", (background, text)
    shoot("17-dashboard-dark")
