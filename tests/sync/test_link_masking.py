"""Links keep what was last written masked (docs/architecture.md, invariant 5), and the
accountant-edit check and the customer sparse update still tell a changed email or
phone from an unchanged one, by keyed digest."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from qbo_sync.connection.clients import client_for
from qbo_sync.models import EntityLink
from qbo_sync.push.conflicts import differences
from qbo_sync.sync.links import DIGESTS, as_written, stored_payload
from qbo_sync.testing.simulator.companies import US_REALM

# Fixtures (connected, contact) come from tests/push/conftest.py through ./conftest.py.
from ..push.conftest import job_for, qbo, send_invoice

EMAIL, PHONE = "billing@northwind.example", "+1 512-555-0100"


def link_of(kind: str) -> EntityLink:
    return EntityLink.objects.get(qbo_type=kind)


def accountant_edits_customer(conn, qbo_id: str, changes: dict) -> None:
    """Someone saves the customer in QuickBooks (its SyncToken moves on)."""
    with client_for(conn) as client:
        current = client.read("Customer", qbo_id)
        client.update("Customer", {"Id": qbo_id, "SyncToken": current["SyncToken"],
                                   "sparse": True, **changes}, sparse=True)


def test_a_link_stores_no_email_or_phone(qbo_simulator, connected, contact):
    send_invoice(contact)  # an invoice carries BillEmail too
    for kind in ("Customer", "Invoice"):
        text = json.dumps(link_of(kind).last_payload)
        assert "billing@" not in text and "555-0100" not in text, (kind, text)
    stored = link_of("Customer").last_payload
    assert stored["PrimaryEmailAddr"]["Address"] == "***@northwind.example"
    assert stored["PrimaryPhone"]["FreeFormNumber"] == "+* ***-***-**00"
    assert set(stored[DIGESTS]) >= {"PrimaryEmailAddr.Address", "PrimaryPhone.FreeFormNumber"}
    # The digests are keyed: without SECRET_KEY they say nothing about the address.
    import hashlib

    plain = hashlib.sha256(EMAIL.encode()).hexdigest()
    assert plain not in json.dumps(stored)


def test_an_accountant_edit_of_the_email_is_still_a_conflict(qbo_simulator, connected,
                                                             contact):
    qid = link_of("Customer").qbo_id
    accountant_edits_customer(connected, qid, {"PrimaryEmailAddr": {
        "Address": "accounts@northwind.example"}})
    contact.phone = "555-0177"
    contact.save()
    job = job_for(contact)
    assert job.status == "failed", job.error_message
    assert "PrimaryEmailAddr.Address" in job.error_message
    assert "Decide which version is right" in job.error_message
    # The message is kept on the job: masked like every stored payload.
    assert "accounts@" not in job.error_message and "billing@" not in job.error_message
    assert "(masked)" in job.error_message
    [customer] = qbo(qbo_simulator, "Customer")
    assert customer["PrimaryEmailAddr"]["Address"] == "accounts@northwind.example"


def test_an_accountant_edit_of_the_phone_is_still_a_conflict(qbo_simulator, connected,
                                                             contact):
    qid = link_of("Customer").qbo_id
    accountant_edits_customer(connected, qid, {"PrimaryPhone": {"FreeFormNumber": "555-0199"}})
    contact.email = "new@northwind.example"
    contact.save()
    job = job_for(contact)
    assert job.status == "failed"
    assert "PrimaryPhone.FreeFormNumber" in job.error_message
    assert "555-0199" not in job.error_message


def test_an_edit_elsewhere_with_the_same_email_is_no_conflict(qbo_simulator, connected,
                                                              contact):
    qid = link_of("Customer").qbo_id
    accountant_edits_customer(connected, qid, {"Notes": "Prefers email"})  # not ours
    contact.phone = "555-0177"
    contact.save()
    job = job_for(contact)
    assert job.status == "succeeded", job.error_message
    assert "no conflicting fields" in job.error_message
    [customer] = qbo(qbo_simulator, "Customer")
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "555-0177"
    assert customer["PrimaryEmailAddr"]["Address"] == EMAIL


def test_a_sparse_update_sends_only_what_changed(qbo_simulator, connected, contact):
    contact.phone = "555-0177"
    contact.save()
    job = job_for(contact)
    assert job.status == "succeeded", job.error_message
    sent = set(job.payload) - {"Id", "SyncToken", "sparse"}
    assert sent == {"PrimaryPhone"}  # the unchanged (masked) email is not sent again


def test_an_accountant_edit_of_an_invoice_field_is_still_a_conflict(qbo_simulator,
                                                                    connected, contact):
    invoice = send_invoice(contact)
    qbo_simulator.accountant.edit_invoice(US_REALM, link_of("Invoice").qbo_id,
                                          {"DueDate": "2031-01-31"})
    invoice.memo = "Edited in the app"
    invoice.save()
    job = job_for(invoice)
    assert job.status == "failed" and "DueDate" in job.error_message


def test_digests_survive_a_key_rotation_with_fallbacks(settings):
    payload = {"PrimaryEmailAddr": {"Address": EMAIL}, "DisplayName": "Northwind"}
    stored = stored_payload(payload)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key", [settings.SECRET_KEY]
    assert differences(stored, payload, customer=True) == []
    with override_settings(SECRET_KEY_FALLBACKS=[]):
        assert differences(stored, payload, customer=True)  # unknown key: not the same


def test_as_written_restores_only_matching_values_and_lines():
    payload = {"PrimaryEmailAddr": {"Address": EMAIL},
               "Line": [{"Description": "Report for jane@acme.example", "Amount": "1"}]}
    stored = stored_payload(payload)
    assert "jane@" not in json.dumps(stored)
    assert as_written(stored, payload) == payload
    other = {"PrimaryEmailAddr": {"Address": "x@northwind.example"},
             "Line": [{"Description": "Report for jane@acme.example"}]}
    restored = as_written(stored, other)
    assert restored["PrimaryEmailAddr"]["Address"] == "***@northwind.example"
    assert restored["Line"][0]["Description"] == "Report for jane@acme.example"
    assert as_written(stored, {}) == {k: v for k, v in stored.items() if k != DIGESTS}


def test_a_payload_stored_before_masking_still_compares():
    old = {"PrimaryEmailAddr": {"Address": EMAIL}}
    assert as_written(old, {}) == old
    assert differences(old, {"PrimaryEmailAddr": {"Address": "x@y.example"}}, customer=True)


@pytest.mark.django_db
def test_the_migration_masks_links_stored_before(qbo_simulator, connected, contact):
    import importlib

    from django.apps import apps

    link = link_of("Customer")
    plain = {"DisplayName": "Northwind", "PrimaryEmailAddr": {"Address": EMAIL},
             "PrimaryPhone": {"FreeFormNumber": PHONE}}
    EntityLink.objects.filter(pk=link.pk).update(last_payload=plain)
    migration = importlib.import_module(
        "qbo_sync.migrations.0011_webhook_limits_and_retention")
    migration.mask_stored_links(apps, None)
    migration.mask_stored_links(apps, None)  # again: nothing changes
    link.refresh_from_db()
    assert "billing@" not in json.dumps(link.last_payload)
    assert differences(link.last_payload, plain, customer=True) == []
