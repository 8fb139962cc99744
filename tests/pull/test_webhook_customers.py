"""With PULL_CUSTOMER_CHANGES on, a Customer webhook brings the edit into the app; off,
the same delivery changes nothing (README "Customer edits from QuickBooks")."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse

from example_project.billing.models import Contact
from qbo_sync.connection.clients import client_for
from qbo_sync.models import EntityLink, SyncJob

from .support import webhooks_on

pytestmark = pytest.mark.django_db


def _link(conn, contact: Contact, customer_id: str) -> None:
    with client_for(conn) as client:
        customer = client.read("Customer", customer_id)
    EntityLink.objects.create(
        connection=conn, content_type=ContentType.objects.get_for_model(Contact),
        object_id=str(contact.pk), qbo_type="Customer", qbo_id=customer_id,
        sync_token=customer["SyncToken"], last_payload={"DisplayName": "Northwind LLC"})


@pytest.mark.parametrize("on", [True, False])
def test_a_customer_webhook_pulls_the_edit_only_when_on(
        on, qbo_simulator, qbo_connection, host_contact, qbo_customer,
        django_capture_on_commit_callbacks):
    _link(qbo_connection, host_contact, qbo_customer)
    client, url = Client(), reverse("qbo_sync:webhooks")

    def sink(body: bytes, headers: dict) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data=body, content_type=headers["Content-Type"],
                               headers={"intuit-signature": headers["intuit-signature"]}
                               ).status_code

    with webhooks_on(PULL_CUSTOMER_CHANGES=on):
        qbo_simulator.set_webhook(sink=sink, interval=None)
        with client_for(qbo_connection) as api:
            current = api.read("Customer", qbo_customer)
            api.update("Customer", {"Id": qbo_customer, "SyncToken": current["SyncToken"],
                                    "sparse": True, "CompanyName": "Northwind Holdings"},
                       sparse=True)
        qbo_simulator.webhooks.flush()
    jobs = SyncJob.objects.filter(action="pull_contact")
    company = Contact.objects.get(pk=host_contact.pk).company_name
    if on:
        assert [j.status for j in jobs] == ["succeeded"], [j.error_message for j in jobs]
        assert company == "Northwind Holdings"
    else:
        assert not jobs.exists()
        assert company == ""
