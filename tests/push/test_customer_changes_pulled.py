"""Customer edits made in QuickBooks come into the app when PULL_CUSTOMER_CHANGES is on
(off by default), through the contact adapter's update_contact; a field changed on both
sides since the last sync is reported, not overwritten. (Here rather than in tests/pull
for the pushed contacts these fixtures make.)"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from example_project.billing.models import Contact
from qbo_sync.connection.clients import client_for
from qbo_sync.models import EntityLink, JobAction, SyncJob
from qbo_sync.pull.cycle import pull_connection
from qbo_sync.pull.notices import pulled
from qbo_sync.receivers import muted

from .conftest import job_for, qbo, writes


@pytest.fixture
def on(qbo_simulator):
    """PULL_CUSTOMER_CHANGES on, over the simulator's settings."""
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "PULL_CUSTOMER_CHANGES": True}):
        yield


def _edit_in_quickbooks(conn, qbo_id: str, **fields) -> dict:
    """An accountant's edit: a sparse update the app did not make."""
    with client_for(conn) as client:
        current = client.read("Customer", qbo_id)
        return client.update("Customer", {"Id": qbo_id, "SyncToken": current["SyncToken"],
                                          "sparse": True, **fields}, sparse=True)


@pytest.fixture
def pushed(qbo_simulator, connected, contact) -> EntityLink:
    assert job_for(contact).status == "succeeded"
    return EntityLink.objects.get(qbo_type="Customer")


def _pull_jobs() -> list[SyncJob]:
    return list(SyncJob.objects.filter(action=JobAction.PULL_CONTACT).order_by("pk"))


def test_off_by_default_nothing_is_applied(qbo_simulator, connected, contact, pushed):
    _edit_in_quickbooks(connected, pushed.qbo_id,
                        PrimaryPhone={"FreeFormNumber": "+1 512-555-0199"})
    summary = pull_connection(connected.pk)
    assert "Customer" not in summary["changed"]
    assert _pull_jobs() == []
    assert Contact.objects.get(pk=contact.pk).phone == "+1 512-555-0100"
    assert not pulled("Customer")


def test_an_edit_in_quickbooks_reaches_the_app(qbo_simulator, on, connected, contact, pushed):
    edited = _edit_in_quickbooks(
        connected, pushed.qbo_id, PrimaryPhone={"FreeFormNumber": "+1 512-555-0199"},
        BillAddr={"Line1": "9 Congress Ave", "City": "Austin",
                  "CountrySubDivisionCode": "TX", "PostalCode": "78701", "Country": "US"})
    qbo_simulator.clear_log()
    summary = pull_connection(connected.pk)
    assert summary["changed"]["Customer"] == 1
    [job] = _pull_jobs()
    assert job.status == "succeeded", job.error_message
    assert "phone" in job.error_message and "address_line1" in job.error_message
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.phone, fresh.address_line1) == ("+1 512-555-0199", "9 Congress Ave")
    assert fresh.email == "billing@northwind.example"  # untouched
    # QuickBooks' version is the new base: nothing is written back to QuickBooks.
    assert writes(qbo_simulator, "customer") == []
    pushed.refresh_from_db()
    assert pushed.sync_token == edited["SyncToken"]
    # Read again (an overlapping window, or a webhook): nothing is planned twice.
    pull_connection(connected.pk)
    assert len(_pull_jobs()) == 1
    # The app's own next edit goes to QuickBooks without a conflict.
    fresh.email = "accounts@northwind.example"
    fresh.save()
    assert job_for(fresh, direction="push").status == "succeeded"
    [customer] = qbo(qbo_simulator, "Customer")
    assert customer["PrimaryEmailAddr"]["Address"] == "accounts@northwind.example"
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+1 512-555-0199"


def test_a_field_changed_on_both_sides_is_reported_not_overwritten(qbo_simulator, on,
                                                                   connected, contact, pushed):
    with muted():  # the app's edit, not pushed yet
        contact.phone = "+1 512-555-0111"
        contact.save()
    _edit_in_quickbooks(connected, pushed.qbo_id,
                        PrimaryPhone={"FreeFormNumber": "+1 512-555-0199"},
                        CompanyName="Northwind Analytics Inc")
    pull_connection(connected.pk)
    [job] = _pull_jobs()
    assert job.status == "failed"
    assert "changed both in the app and in QuickBooks" in job.error_message
    assert "PrimaryPhone.FreeFormNumber" in job.error_message
    assert "555-0199" not in job.error_message  # phone numbers stay masked
    assert "make the app's value the same" in job.error_message
    fresh = Contact.objects.get(pk=contact.pk)
    assert fresh.phone == "+1 512-555-0111"  # nothing taken while it clashes
    assert fresh.company_name == "Northwind Analytics LLC"
    [customer] = qbo(qbo_simulator, "Customer")
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+1 512-555-0199"


def test_our_own_push_is_not_pulled_back(qbo_simulator, on, connected, contact, pushed):
    contact.city = "Round Rock"
    contact.save()
    assert job_for(contact).status == "succeeded"
    pull_connection(connected.pk)
    assert _pull_jobs() == []
    assert pulled("Customer")


def test_edits_to_different_fields_on_each_side_both_survive(qbo_simulator, on, connected,
                                                             contact, pushed):
    with muted():  # the app's edit, not pushed yet
        contact.email = "accounts@northwind.example"
        contact.save()
    _edit_in_quickbooks(connected, pushed.qbo_id,
                        PrimaryPhone={"FreeFormNumber": "+1 512-555-0199"})
    pull_connection(connected.pk)
    [job] = _pull_jobs()
    assert job.status == "succeeded", job.error_message
    fresh = Contact.objects.get(pk=contact.pk)
    assert (fresh.phone, fresh.email) == ("+1 512-555-0199", "accounts@northwind.example")
    # The host's save queued the contact's push: it sends the app's email only.
    push = job_for(fresh, direction="push")
    assert push.status == "succeeded", push.error_message
    [customer] = qbo(qbo_simulator, "Customer")
    assert customer["PrimaryEmailAddr"]["Address"] == "accounts@northwind.example"
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+1 512-555-0199"
