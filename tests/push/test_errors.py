"""Errors: what retries by itself, what waits for a person, and what Sync Health says."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from example_project.billing.models import Contact
from qbo_sync.connection import oauth
from qbo_sync.connection.clients import client_for
from qbo_sync.models import Connection, EntityLink, SyncJob
from qbo_sync.sync import outbox
from qbo_sync.testing.simulator.companies import US_REALM

from .conftest import job_for, qbo, run_due, send_invoice, writes


def _customer_in_qbo(conn, name: str, email: str = "") -> dict:
    body = {"DisplayName": name}
    if email:
        body["PrimaryEmailAddr"] = {"Address": email}
    return client_for(conn).create("Customer", body)


# 6240 duplicate name ---------------------------------------------------------------------


def test_duplicate_name_with_same_email_links_existing(qbo_simulator, connected,
                                                       us_workspace):
    existing = _customer_in_qbo(connected, "Globex Corp", "AP@globex.example")
    contact = Contact.objects.create(workspace=us_workspace, display_name="Globex Corp",
                                     email="ap@globex.example")
    job = job_for(contact)
    assert job.status == "succeeded"
    assert job.qbo_id == existing["Id"]
    assert "same email" in job.error_message
    assert len(qbo(qbo_simulator, "Customer")) == 1
    # Later edits update the linked customer.
    contact.phone = "555-0199"
    contact.save()
    assert qbo(qbo_simulator, "Customer")[0]["PrimaryPhone"]["FreeFormNumber"] == "555-0199"


def test_duplicate_name_with_other_email_fails_with_ways_out(qbo_simulator, connected,
                                                             us_workspace):
    _customer_in_qbo(connected, "Globex Corp", "someone@else.example")
    contact = Contact.objects.create(workspace=us_workspace, display_name="Globex Corp",
                                     email="ap@globex.example")
    job = job_for(contact)
    assert job.status == "failed"
    assert job.attempts == 1  # a validation error never retries by itself
    assert "Ways out" in job.error_message
    assert "Globex Corp" in job.error_message
    assert job.error["code"] == "6240"
    assert job.error["type"] == "DuplicateNameError"


def test_duplicate_name_with_a_vendor_fails(qbo_simulator, connected, us_workspace):
    contact = Contact.objects.create(workspace=us_workspace, display_name="Simulated Supplies Co")
    job = job_for(contact)
    assert job.status == "failed"
    assert "vendor or employee" in job.error_message


# 6140 duplicate DocNumber ------------------------------------------------------------------


def test_duplicate_doc_number_suggests_qbo_numbering_then_retry_succeeds(
        qbo_simulator, connected, contact):
    other = _customer_in_qbo(connected, "Someone Else")
    client_for(connected).create("Invoice", {
        "DocNumber": "INV-00001", "CustomerRef": {"value": other["Id"]},
        "Line": [{"DetailType": "SalesItemLineDetail", "Amount": Decimal("5"),
                  "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": Decimal("1"),
                                          "UnitPrice": Decimal("5"),
                                          "TaxCodeRef": {"value": "NON"}}}]})
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "failed" and job.attempts == 1
    assert job.error["code"] == "6140"
    assert "Invoice number strategy" in job.error_message
    # The fix named: let QuickBooks number invoices, then retry from Sync Health.
    connected.invoice_number_strategy = "qbo"
    connected.save()
    outbox.retry_job(job)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert len(qbo(qbo_simulator, "Invoice")) == 2


# 5010 stale SyncToken and real conflicts ------------------------------------------------------


def test_stale_sync_token_is_reread_and_retried_once(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    qbo_simulator.inject("stale", method="POST", path="/invoice$")
    invoice.memo = "New memo"
    invoice.save()
    job = job_for(invoice)
    assert job.status == "succeeded", job.error_message
    assert qbo(qbo_simulator, "Invoice")[0]["CustomerMemo"]["value"] == "New memo"
    statuses = [r.status for r in writes(qbo_simulator, "invoice")]
    assert statuses[-2:] == [400, 200]


def test_stale_customer_sync_token_is_reread(qbo_simulator, connected, contact):
    link = EntityLink.objects.get(qbo_type="Customer")
    qbo_simulator.bump_sync_token(US_REALM, "Customer", link.qbo_id)
    contact.phone = "555-0177"
    contact.save()
    job = job_for(contact)
    assert job.status == "succeeded", job.error_message
    assert "newer version" in job.error_message
    assert qbo(qbo_simulator, "Customer")[0]["PrimaryPhone"]["FreeFormNumber"] == "555-0177"


def test_accountant_edit_of_owned_field_is_a_conflict(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    qid = EntityLink.objects.get(qbo_type="Invoice").qbo_id
    qbo_simulator.accountant.edit_invoice(US_REALM, qid, {"DueDate": "2031-01-31"})
    invoice.memo = "Edited in the app"
    invoice.save()
    job = job_for(invoice)
    assert job.status == "failed"
    assert "DueDate" in job.error_message and "2031-01-31" in job.error_message
    assert "Decide which version is right" in job.error_message
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert qinv["DueDate"] == "2031-01-31"  # the accountant's edit is not overwritten
    assert "CustomerMemo" not in qinv or qinv["CustomerMemo"].get("value") != "Edited in the app"


# Transient errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["error", "throttle", "timeout"])
def test_transient_errors_retry_with_backoff_then_fail(qbo_simulator, connected, contact,
                                                       kind):
    qbo_simulator.inject(kind, method="POST", path="/invoice$", times=None)
    invoice = send_invoice(contact)
    job = job_for(invoice)
    delays = []
    while job.status == "pending":
        delays.append((job.next_attempt_at - job.finished_at).total_seconds())
        run_due(job)
        job.refresh_from_db()
    assert job.status == "failed"
    assert job.attempts == 4  # the first try + 3 automatic retries
    assert job.attempts <= job.max_attempts == 5
    assert job.error_message.endswith("Nothing to do: the sync retries by itself.") or \
        "retries" in job.error_message
    assert len(delays) == 3
    if kind == "throttle":
        assert all(d >= 54 for d in delays)  # a 429 waits about a minute (docs/qbo-rules.md §3)
    base = [60, 120, 240]
    for seen, want in zip(delays, base, strict=True):
        assert want * 0.89 <= seen <= max(want, 60) * 1.11
    # Still one invoice at most, even after timeouts.
    assert len(qbo(qbo_simulator, "Invoice")) == 0


def test_retry_policy_comes_from_settings(qbo_simulator, connected, contact, settings):
    settings.QBO_SYNC = {**settings.QBO_SYNC,
                         "RETRY": {"AUTO_RETRIES": 1, "BASE_DELAY": 2, "MAX_ATTEMPTS": 5}}
    qbo_simulator.inject("error", status=500, method="POST", path="/invoice$", times=None)
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "pending"
    assert (job.next_attempt_at - job.finished_at).total_seconds() < 3
    run_due(job)
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 2


def test_transient_then_ok_succeeds_by_itself(qbo_simulator, connected, contact):
    qbo_simulator.inject("error", status=503, method="POST", path="/invoice$")
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "pending"
    assert run_due(job) == "succeeded"
    assert len(qbo(qbo_simulator, "Invoice")) == 1


def test_validation_error_waits_for_manual_retry(qbo_simulator, connected, contact):
    connected.default_item_id = ""
    connected.save()
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "failed" and job.attempts == 1
    assert run_due(job) == ""  # a failed job is not run again by the engine
    with pytest.raises(ValueError):
        outbox.retry_job(SyncJob.objects.get(pk=job_for(contact).pk))  # succeeded
    connected.default_item_id = "1"
    connected.save()
    outbox.retry_job(job)
    job.refresh_from_db()
    assert job.status == "succeeded" and job.attempts == 2


# Configuration -----------------------------------------------------------------------------------


def test_missing_default_item_names_the_setting(qbo_simulator, connected, contact):
    connected.default_item_id = ""
    connected.save()
    qbo_simulator.clear_log()
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "failed"
    assert "Default Item is not set" in job.error_message
    assert "Settings → Default Item" in job.error_message
    assert writes(qbo_simulator, "invoice") == []


def test_missing_deposit_account_names_the_setting(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    connected.default_deposit_account_id = ""
    connected.save()
    payment = invoice.record_payment(Decimal("100.00"))
    job = job_for(payment)
    assert job.status == "failed"
    assert "Default Deposit Account is not set: Settings → Default Deposit Account" \
        in job.error_message
    assert qbo(qbo_simulator, "Payment") == []


# Reconnect needed ---------------------------------------------------------------------------


def _reconnect(user) -> Connection:
    from tests.oauth_sim import click_through, query

    url = oauth.start_connect(workspace="default", user=user,
                              redirect_uri="http://testserver/qbo/callback/")
    params = query(click_through(url, realm=US_REALM))
    return oauth.complete_connect(code=params["code"], state=params["state"],
                                  realm_id=params["realmId"], user=user, params=params)


def test_revoked_grant_parks_jobs_and_reconnect_dispatches_them(qbo_simulator, connected,
                                                                  contact):
    user = get_user_model().objects.create_user("ada", password="pw", is_staff=True)
    qbo_simulator.identity.revoke_realm(US_REALM)
    qbo_simulator.expire_tokens(US_REALM)
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "parked", job.error_message
    assert "Reconnect" in job.error_message
    connected.refresh_from_db()
    assert not connected.is_connected
    # More work while disconnected waits too, without calling QuickBooks.
    contact.phone = "555-0142"
    contact.save()
    assert job_for(contact).status == "parked"
    assert qbo(qbo_simulator, "Invoice") == []
    with override_settings(QBO_SYNC={**_settings(), "CONNECT_DONE_URL": "/admin/"}):
        _reconnect(user)
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert job_for(contact).status == "succeeded"
    assert len(qbo(qbo_simulator, "Invoice")) == 1
    assert qbo(qbo_simulator, "Customer")[0]["PrimaryPhone"]["FreeFormNumber"] == "555-0142"


def _settings() -> dict:
    from django.conf import settings

    return dict(settings.QBO_SYNC)


def test_resume_parked_dispatches(qbo_simulator, connected, contact):
    Connection.objects.filter(pk=connected.pk).update(status=Connection.Status.ERROR)
    contact.phone = "555-0123"
    contact.save()
    job = job_for(contact)
    assert job.status == "parked" and job.attempts == 0  # queued without a try
    Connection.objects.filter(pk=connected.pk).update(status=Connection.Status.CONNECTED)
    connected.refresh_from_db()
    assert outbox.resume_parked(connected) == 1
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert qbo(qbo_simulator, "Customer")[0]["PrimaryPhone"]["FreeFormNumber"] == "555-0123"


def test_a_token_refused_after_refresh_on_a_live_grant_is_retried_not_parked(
        qbo_simulator, connected, contact):
    """Issue 16: the token expired again between the refresh and the resend (another
    worker's refresh, or an expiry). The grant works, so the job retries by itself
    instead of waiting parked for a reconnect nobody needs."""
    assert job_for(contact).status == "succeeded"
    qbo_simulator.inject("expire_tokens", method="POST", path="/invoice$", times=2)
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "pending", job.error_message
    connected.refresh_from_db()
    assert connected.is_connected
    assert run_due(job) == "succeeded"
    assert len(qbo(qbo_simulator, "Invoice")) == 1


def test_a_call_held_back_by_our_budget_reschedules_without_counting_a_try(
        qbo_simulator, connected, us_workspace):
    """Nothing was sent, so nothing failed: the job waits for the moment budget frees
    and its inline dependency leaves no failed row (issue 16)."""
    from django.utils import timezone

    from qbo_sync import receivers
    from qbo_sync.qbo import throttle

    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace, display_name="Soylent",
                                         email="ap@soylent.example")
    with override_settings(QBO_SYNC={**_settings(), "RATE_LIMIT_PER_MINUTE": 1,
                                     "RATE_LIMIT_MAX_WAIT": 0}):
        with throttle.budget(connected.realm_id):  # someone spent the minute's budget
            pass
        invoice = send_invoice(contact)
    job = job_for(invoice)
    assert (job.status, job.attempts) == ("pending", 0), job.error_message
    assert "budget" in job.error_message
    wait = (job.next_attempt_at - timezone.now()).total_seconds()
    # When the spent call leaves the minute (and the margin), not a fixed backoff.
    assert 30 < wait <= 61 + throttle.WINDOW_MARGIN_SECONDS
    assert not SyncJob.objects.filter(entity="contact", status="failed").exists()
    assert qbo(qbo_simulator, "Invoice") == []
    throttle.reset()
    assert run_due(job) == "succeeded"
    job.refresh_from_db()
    assert job.attempts == 1
