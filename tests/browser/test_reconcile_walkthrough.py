"""Reconciliation in a real browser: an accountant edits an invoice's total and voids
another in QuickBooks (the simulator, over HTTP); the admin starts a reconciliation,
sees both rows, pushes the app's version of one and ignores the other with a reason;
the next run is clean. Screenshots go to docs/screenshots/ (see docs/admin.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from example_project.billing.models import Contact, Invoice, InvoiceLine, Workspace
from qbo_sync.models import EntityLink, ReconciliationRun, SyncJob
from qbo_sync.testing.connections import connect_to_simulator
from qbo_sync.testing.simulator.companies import US_REALM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def books(live_server: Any, qbo_sim_server: Any) -> dict[str, Any]:
    """Two invoices pushed to QuickBooks; then the accountant edits one and voids one."""
    sim = qbo_sim_server
    get_user_model().objects.create_superuser("admin", password="admin")
    ws = Workspace.objects.create(name="Acme Studio US", slug="default", country="US",
                                  home_currency="USD")
    items = {i["Name"]: i["Id"] for i in sim.store.all(US_REALM, "Item")}
    deposit = next(a["Id"] for a in sim.store.all(US_REALM, "Account")
                   if a.get("AccountSubType") == "UndepositedFunds")
    connect_to_simulator(sim, US_REALM, default_item_id=items["Design"],
                         default_deposit_account_id=deposit)
    contact = Contact.objects.create(workspace=ws, display_name="Northwind Analytics LLC",
                                     country="US", currency="USD")
    today = timezone.localdate()
    invoices = {}
    for number in ("INV-00101", "INV-00102"):
        invoice = Invoice.objects.create(workspace=ws, contact=contact, number=number,
                                         issue_date=today, due_date=today + timedelta(days=30))
        InvoiceLine.objects.create(invoice=invoice, position=0, category="design",
                                   description="Brand refresh", quantity=Decimal("3"),
                                   unit_price=Decimal("125.00"))
        invoice.send()
        invoices[number] = invoice
    assert set(SyncJob.objects.values_list("status", flat=True)) == {"succeeded"}
    qbo = {n: EntityLink.objects.get(qbo_type="Invoice", object_id=str(inv.pk)).qbo_id
           for n, inv in invoices.items()}
    record = next(r for r in sim.store.all(US_REALM, "Invoice") if r["Id"] == qbo["INV-00101"])
    lines = [dict(ln) for ln in record["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    detail = dict(lines[0]["SalesItemLineDetail"], Qty=Decimal("4"))
    lines[0] = {**lines[0], "Amount": Decimal("500.00"), "SalesItemLineDetail": detail}
    sim.accountant.edit_invoice(US_REALM, qbo["INV-00101"], {"Line": lines})
    sim.accountant.void_invoice(US_REALM, qbo["INV-00102"])
    return {"url": live_server.url, "sim": sim, "qbo": qbo}


def reconcile_now(page: Any, url: str) -> None:
    page.goto(f"{url}/admin/qbo_sync/connection/")
    page.locator("#result_list tbody tr input.action-select").first.check()
    page.select_option("select[name=action]", "reconcile_now")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "Reconciliation of default started" in page.inner_text(".messagelist")
    page.click(".messagelist a")
    page.wait_for_url(re.compile(r".*/admin/qbo_sync/reconciliationrun/\d+/change/$"))
    page.wait_for_function("document.body.innerText.includes('Done')", timeout=20_000)


def pick(page: Any, label: str, action: str) -> None:
    page.locator("#result_list tbody tr", has_text=label).locator(
        "input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_reconciliation_walkthrough(books: dict, chromium_page: Any, shoot: Any) -> None:
    page, url = chromium_page, books["url"]
    page.goto(f"{url}/admin/login/?next=/admin/qbo_sync/connection/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/qbo_sync/connection/$"))

    reconcile_now(page, url)
    text = page.inner_text("#content-main")
    assert "1 edited in quickbooks" in text and "1 voided in quickbooks, not in the app" in text
    shoot("12-reconciliation-run")

    page.click("text=The 2 differences of this run")
    rows = page.inner_text("#result_list")
    assert "INV-00101 was edited in QuickBooks" in rows and "line 1: QuickBooks 4 × 125" in rows
    assert "INV-00102 was voided in QuickBooks" in rows
    shoot("13-reconciliation-differences")

    # The app's version of INV-00101 wins: pushed again, a job in Sync Health.
    pick(page, "INV-00101", "push_selected")
    page.wait_for_selector(".messagelist")
    assert "Repairs queued: 1 × push" in page.inner_text(".messagelist")
    record = next(r for r in books["sim"].store.all(US_REALM, "Invoice")
                  if r["Id"] == books["qbo"]["INV-00101"])
    assert record["TotalAmt"] == Decimal("375.00")
    job = SyncJob.objects.filter(requested_by__username="admin").get()
    assert job.status == "succeeded", job.error_message

    # INV-00102 stays void in QuickBooks only: ignored, with the reason asked for.
    pick(page, "INV-00102", "ignore_selected")
    page.wait_for_selector("#id_reason")
    page.fill("#id_reason", "Voided by the accountant; the app's copy is cancelled next week")
    shoot("14-reconciliation-ignore")
    page.click("input[name=apply]")
    page.wait_for_selector(".messagelist")
    assert "1 difference(s) ignored" in page.inner_text(".messagelist")

    reconcile_now(page, url)
    run = ReconciliationRun.objects.order_by("-pk").first()
    assert (run.found, run.ignored) == (0, 1)
    assert "none" in page.inner_text("#content-main")
    shoot("15-reconciliation-clean")
