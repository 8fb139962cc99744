"""The admin as a person uses it, in a real browser: log in, connect to QuickBooks (the
simulator, over HTTP) through the OAuth pages, choose settings from the live lists,
send an invoice and see it green in Sync Health, break a setting and see the red row
with its explanation, fix it, Retry, and see it green. Screenshots of the key screens
go to docs/screenshots/ (see docs/admin.md)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from example_project.billing.models import Contact, Invoice, InvoiceLine, Workspace
from qbo_sync.models import Connection, SyncJob
from qbo_sync.testing.simulator.companies import US_REALM

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The explained error: what is wrong and where to fix it.
PROBLEM, FIX = "Default Item is not set", "Settings → Default Item"


@pytest.fixture
def site(live_server: Any, qbo_sim_server: Any, settings: Any) -> Any:
    """The example product on a live server, talking to the simulator over HTTP."""
    settings.QBO_SYNC = {**settings.QBO_SYNC,
                         "REDIRECT_URI": f"{live_server.url}/qbo/callback/"}
    get_user_model().objects.create_superuser("admin", password="admin")
    ws = Workspace.objects.create(name="Acme Studio US", slug="default", country="US",
                                  home_currency="USD")
    contact = Contact.objects.create(
        workspace=ws, display_name="Northwind Analytics LLC", email="ap@northwind.example",
        address_line1="1 Market St", city="Austin", region="TX", postal_code="78701",
        country="US", currency="USD")
    # Dated today: invoices from before the connection go only through a manual sync.
    today = timezone.localdate()
    for number in ("INV-00001", "INV-00002"):
        invoice = Invoice.objects.create(workspace=ws, contact=contact, number=number,
                                         issue_date=today, due_date=today + timedelta(days=30))
        InvoiceLine.objects.create(invoice=invoice, position=0, category="design",
                                   description="Brand refresh", quantity=Decimal("3"),
                                   unit_price=Decimal("125.00"))
    return live_server


def login(page: Any, url: str) -> None:
    page.goto(f"{url}/admin/login/?next=/admin/qbo_sync/connection/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/qbo_sync/connection/$"))


def open_settings(page: Any, url: str) -> None:
    conn = Connection.objects.get(workspace="default")
    page.goto(f"{url}/admin/qbo_sync/connection/{conn.pk}/change/")


def save_settings(page: Any) -> None:
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")


def send_invoice(page: Any, url: str, number: str) -> None:
    page.goto(f"{url}/admin/billing/invoice/")
    row = page.locator("#result_list tbody tr", has_text=number)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "send_invoices")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")
    assert "1 invoice(s) sent." in page.inner_text(".messagelist")


def health_row(page: Any, job: SyncJob) -> Any:
    return page.locator("#result_list tbody tr", has=page.locator(
        f"th a[href*='/syncjob/{job.pk}/change/']"))


def test_admin_walkthrough(site: Any, qbo_sim_server: Any, chromium_page: Any,
                           shoot: Any) -> None:
    page, url = chromium_page, site.url
    login(page, url)
    shoot("01-connections-empty")

    # Connect through the OAuth pages: our button → the consent page → back.
    page.click("#qbo-connect")
    page.wait_for_url(re.compile(re.escape(qbo_sim_server.base_url) + r"/connect/oauth2.*"))
    page.check(f"input[name=realmId][value='{US_REALM}']")
    shoot("02-consent")
    page.click("button[value=connect]")
    page.wait_for_url(re.compile(r".*/admin/qbo_sync/connection/$"))
    text = page.inner_text("#content-main")
    assert "Connected to Simulated" in text and "Disconnect" in text
    assert "Connected to QuickBooks company" in page.inner_text(".messagelist")
    shoot("03-connected")

    # Settings: the required ones are flagged until chosen from the live lists.
    open_settings(page, url)
    banner = page.inner_text("#qbo-missing")
    assert "Default Item" in banner and "Default Deposit Account" in banner
    shoot("04-settings-required")
    page.select_option("#id_default_item_id", label="Design")
    page.select_option("#id_default_deposit_account_id", label="Undeposited Funds")
    save_settings(page)
    assert page.locator("#qbo-missing").count() == 0
    shoot("05-settings-saved")

    # Send an invoice in the product: it is pushed and shows green in Sync Health.
    send_invoice(page, url, "INV-00001")
    first = SyncJob.objects.get(entity="invoice", object_id=str(
        Invoice.objects.get(number="INV-00001").pk))
    assert first.status == SyncJob.Status.SUCCEEDED, first.error_message
    page.goto(f"{url}/admin/qbo_sync/syncjob/")
    assert "Succeeded" in health_row(page, first).inner_text()
    shoot("06-sync-health-green")

    # Unset the default item; the next invoice fails with the explained error.
    open_settings(page, url)
    page.select_option("#id_default_item_id", value="")
    save_settings(page)
    assert "Default Item" in page.inner_text("#qbo-missing")
    send_invoice(page, url, "INV-00002")
    second = SyncJob.objects.get(entity="invoice", object_id=str(
        Invoice.objects.get(number="INV-00002").pk))
    assert second.status == SyncJob.Status.FAILED
    page.goto(f"{url}/admin/qbo_sync/syncjob/")
    row = health_row(page, second)
    assert "Failed" in row.inner_text()
    assert PROBLEM in row.inner_text() and FIX in row.inner_text()
    shoot("07-sync-health-red")
    page.click(f"th a[href*='/syncjob/{second.pk}/change/']")
    assert PROBLEM in page.inner_text("#content-main")
    shoot("08-job-detail")

    # Fix the setting, Retry the row, and it goes green.
    open_settings(page, url)
    page.select_option("#id_default_item_id", label="Design")
    save_settings(page)
    page.goto(f"{url}/admin/qbo_sync/syncjob/?status__exact=failed")
    health_row(page, second).locator("button.qbo-retry").click()
    page.wait_for_selector(".messagelist")
    assert "1 job queued for retry." in page.inner_text(".messagelist")
    second.refresh_from_db()
    assert second.status == SyncJob.Status.SUCCEEDED, second.error_message
    page.goto(f"{url}/admin/qbo_sync/syncjob/")
    assert "Succeeded" in health_row(page, second).inner_text()
    assert "2 / max 5 · 1 manual retry" in health_row(page, second).inner_text()
    shoot("09-retry-green")

    # Both invoices are in QuickBooks now.
    docs = {r["DocNumber"] for r in qbo_sim_server.store.all(US_REALM, "Invoice")}
    assert {"INV-00001", "INV-00002"} <= docs

    # Manual sync of contacts, with its progress page.
    open_settings(page, url)
    page.click("text=Sync contacts")
    page.fill("#id_since", "2026-01-01")
    shoot("10-manual-sync")
    page.click("input[type=submit][value='Start sync']")
    page.wait_for_url(re.compile(r".*/admin/qbo_sync/historicalrun/\d+/change/$"))
    page.wait_for_function("document.body.innerText.includes('Done')", timeout=20_000)
    shoot("11-sync-run-progress")
