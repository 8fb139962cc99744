"""The webhook endpoint: the simulator's signed deliveries reach the Django view; good
ones are stored, acknowledged and processed once; forged ones are refused and not
stored, malformed and repeated ones are not acted on."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from example_project.billing.models import Invoice
from qbo_sync.models import SeenEvent, SyncJob, WebhookEvent, WebhookRejection
from qbo_sync.pull.webhooks import replay_event
from qbo_sync.testing.simulator.companies import US_REALM
from qbo_sync.testing.simulator.webhooks import sign

from .support import api_calls, linked_invoice, webhooks_on

D = Decimal
pytestmark = pytest.mark.django_db
VERIFIER = "simulator-verifier-token"


@pytest.fixture
def deliver(qbo_simulator, django_capture_on_commit_callbacks):
    """Route the simulator's webhooks to the view; returns the responses per flush.
    Processing runs inline (django-q2 sync mode) once the view's transaction commits."""
    client = Client()
    url = reverse("qbo_sync:webhooks")
    responses = []

    def sink(body: bytes, headers: dict) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            resp = client.post(url, data=body, content_type=headers["Content-Type"],
                               headers={"intuit-signature": headers["intuit-signature"]})
        responses.append(resp)
        return resp.status_code

    with webhooks_on():
        qbo_simulator.set_webhook(sink=sink, interval=None)
        yield responses


def post(body: bytes, signature: str | None = None, content_type: str = "application/json"):
    headers = {"intuit-signature": signature} if signature is not None else {}
    return Client().post(reverse("qbo_sync:webhooks"), data=body, content_type=content_type,
                         headers=headers)


@pytest.mark.parametrize("fmt", ["cloudevents", "legacy"])
def test_a_signed_webhook_marks_the_invoice_paid(
    fmt, qbo_simulator, qbo_connection, host_contact, qbo_customer, deliver
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.webhooks.flush()  # the invoice's own Create event
    qbo_simulator.set_webhook(format=fmt)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))

    qbo_simulator.webhooks.flush()

    assert [r.status_code for r in deliver] == [200, 200]
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert [p.amount for p in invoice.payments.all()] == [D("100.00")]
    event = WebhookEvent.objects.order_by("pk").last()
    assert (event.verified, event.processed, event.envelope) == (True, True, fmt)
    assert event.realm_ids == [US_REALM] and event.error == ""
    assert event.headers.get("Intuit-Signature")
    assert SyncJob.objects.filter(direction="pull", action="pull_payment").count() == 1


def test_the_view_answers_fast_and_calls_no_qbo(qbo_simulator, qbo_connection):
    body = json.dumps([{"specversion": "1.0", "id": "ev-1", "type": "qbo.payment.created.v1",
                        "intuitaccountid": US_REALM, "intuitentityid": "9"}]).encode()
    qbo_simulator.clear_log()
    with webhooks_on():
        started = time.monotonic()
        resp = post(body, sign(body, VERIFIER), "application/cloudevents+json")
        elapsed = time.monotonic() - started
    assert resp.status_code == 200
    assert elapsed < 0.5  # QBO gives 3 s (docs/qbo-rules.md §7.5)
    assert api_calls(qbo_simulator) == []
    event = WebhookEvent.objects.get()
    assert event.verified and not event.processed  # queued; the worker processes it


def test_a_forged_webhook_is_refused_unstored_and_ignored(
    qbo_simulator, qbo_connection, host_contact, qbo_customer, django_capture_on_commit_callbacks
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))
    body = json.dumps({"eventNotifications": [{"realmId": US_REALM, "dataChangeEvent": {
        "entities": [{"name": "Payment", "id": "1", "operation": "Create",
                      "lastUpdated": "2026-07-10T18:00:00.000Z"}]}}]}).encode()
    qbo_simulator.clear_log()
    with webhooks_on(), django_capture_on_commit_callbacks(execute=True):
        forged = post(body, sign(body, "not-the-verifier"))
        unsigned = post(body)
    assert (forged.status_code, unsigned.status_code) == (401, 401)
    assert not WebhookEvent.objects.exists()  # counted only (tests/pull/test_webhook_limits.py)
    assert sorted(WebhookRejection.objects.values_list("reason", "count")) == [
        ("bad_signature", 1), ("unsigned", 1)]
    assert api_calls(qbo_simulator) == []
    assert not SyncJob.objects.filter(direction="pull").exists()


def test_an_unverified_delivery_stored_by_an_earlier_version_is_never_replayed(db):
    event = WebhookEvent.objects.create(body="[]", verified=False)
    with pytest.raises(ValueError, match="signature"):
        replay_event(event.pk)


def test_a_repeated_delivery_is_processed_once(
    qbo_simulator, qbo_connection, host_contact, qbo_customer, deliver
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.webhooks.flush()
    qbo_simulator.set_webhook(duplicate=True)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("40.00"))
    qbo_simulator.clear_log()

    qbo_simulator.webhooks.flush()

    assert len(deliver) == 3 and {r.status_code for r in deliver} == {200}
    cdc_calls = [c for c in api_calls(qbo_simulator) if c.path.endswith("/cdc")]
    assert len(cdc_calls) == 1  # the second copy pulled nothing
    assert invoice.payments.count() == 1
    first, second = WebhookEvent.objects.order_by("pk")[1:]
    assert first.body == second.body and first.processed and second.processed
    assert SeenEvent.objects.filter(webhook=first).count() == 2  # Payment + Invoice events


@pytest.mark.parametrize("body, reason", [
    (b"not json {", "not JSON"),
    (b'{"hello": "world"}', "eventNotifications"),
    (b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {}}]}', "entities"),
    (b'[{"id": "x", "type": "qbo.invoice.updated.v1"}]', "intuitaccountid"),
])
def test_a_malformed_webhook_is_stored_with_its_error(body, reason, qbo_simulator,
                                                      qbo_connection):
    with webhooks_on():
        resp = post(body, sign(body, VERIFIER))
    assert resp.status_code == 400
    event = WebhookEvent.objects.get()
    assert event.verified and not event.processed
    assert reason in event.error


def test_webhooks_switched_off_answer_404(qbo_simulator, qbo_connection, settings):
    settings.QBO_SYNC = {**settings.QBO_SYNC, "WEBHOOKS_ENABLED": False}
    body = b"[]"
    resp = post(body, sign(body, VERIFIER))
    assert resp.status_code == 404
    assert "WEBHOOKS_ENABLED" in resp.json()["message"]
    assert not WebhookEvent.objects.exists()


def test_a_failed_delivery_can_be_replayed(
    qbo_simulator, qbo_connection, host_contact, qbo_customer, deliver,
    django_capture_on_commit_callbacks,
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.webhooks.flush()
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))
    qbo_simulator.inject("error", status=503, entity="cdc")

    qbo_simulator.webhooks.flush()

    event = WebhookEvent.objects.order_by("pk").last()
    assert deliver[-1].status_code == 200  # acknowledged; the failure is ours to replay
    assert not event.processed and "Service Unavailable" in event.error
    assert invoice.payments.count() == 0
    assert not SeenEvent.objects.filter(webhook=event).exists()

    with django_capture_on_commit_callbacks(execute=True):
        replay_event(event.pk)

    event.refresh_from_db()
    assert event.processed and event.error == ""
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_jobs_of_a_webhook_pull_say_a_webhook_caused_them(
    qbo_simulator, qbo_connection, host_contact, qbo_customer, deliver
):
    _, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.webhooks.flush()
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))
    qbo_simulator.webhooks.flush()
    jobs = SyncJob.objects.filter(direction="pull")
    assert jobs.exists() and {(j.trigger, j.requested_by_id) for j in jobs} == {
        ("webhook", None)}
