"""What a webhook delivery may cost (issue 13): an unsigned or wrongly signed one is
refused before anything of it is stored and only counted; a body over
``WEBHOOK_MAX_BYTES`` is refused before it is read whole; a burst of signed deliveries
for one company queues one task and one pull, not one per delivery."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from example_project.billing.models import Invoice
from qbo_sync.models import Connection, SeenEvent, WebhookEvent, WebhookRejection
from qbo_sync.pull import webhooks
from qbo_sync.testing.simulator.companies import US_REALM
from qbo_sync.testing.simulator.webhooks import sign

from .support import api_calls, linked_invoice, webhooks_on

pytestmark = pytest.mark.django_db
VERIFIER = "simulator-verifier-token"
MB = 1024 * 1024


def post(body: bytes, signature: str | None = None, **extra: Any):
    headers = {"intuit-signature": signature} if signature is not None else {}
    return Client().post(reverse("qbo_sync:webhooks"), data=body,
                         content_type="application/json", headers=headers, **extra)


def stored_bytes() -> int:
    """What the webhook tables hold of delivery bodies and samples, in bytes."""
    bodies = sum(len(b.encode()) for b in WebhookEvent.objects.values_list("body", flat=True))
    samples = sum(len(s.encode()) for s in
                  WebhookRejection.objects.values_list("sample", flat=True))
    return bodies + samples


def cloudevent(event_id: str, realm: str = US_REALM, entity: str = "payment") -> dict:
    return {"specversion": "1.0", "id": event_id, "type": f"qbo.{entity}.created.v1",
            "intuitaccountid": realm, "intuitentityid": "9"}


def signed(events: list[dict]) -> tuple[bytes, str]:
    body = json.dumps(events).encode()
    return body, sign(body, VERIFIER)


# 1. Verify before storing ---------------------------------------------------------------


def test_unsigned_and_forged_deliveries_are_counted_not_stored(qbo_simulator, qbo_connection,
                                                               django_capture_on_commit_callbacks):
    body = json.dumps([cloudevent("ev-1")]).encode() + b" " * (900 * 1024)  # under the limit
    qbo_simulator.clear_log()
    with webhooks_on(), django_capture_on_commit_callbacks(execute=True):
        answers = [post(body).status_code for _ in range(10)]
        answers += [post(body, sign(body, "not-the-verifier")).status_code for _ in range(10)]
    assert answers == [401] * 20
    assert not WebhookEvent.objects.exists()
    rows = {r.reason: r for r in WebhookRejection.objects.all()}
    assert set(rows) == {"unsigned", "bad_signature"}
    assert [rows["unsigned"].count, rows["bad_signature"].count] == [10, 10]
    assert rows["unsigned"].sample == body[:512].decode()
    assert rows["unsigned"].first_seen <= rows["unsigned"].last_seen
    assert stored_bytes() <= 2 * WebhookRejection.SAMPLE_BYTES  # of 18 MB posted
    assert api_calls(qbo_simulator) == []


def test_twenty_unsigned_2_mb_posts_store_nothing_of_their_bodies(qbo_simulator,
                                                                  qbo_connection):
    body = b"x" * (2 * MB)
    with webhooks_on():
        answers = {post(body).status_code for _ in range(20)}
    assert answers == {413}  # over WEBHOOK_MAX_BYTES: refused before it is read
    assert not WebhookEvent.objects.exists()
    assert WebhookRejection.objects.get().count == 20
    assert stored_bytes() == 0  # 40 MB before this change
    with webhooks_on(WEBHOOK_MAX_BYTES=4 * MB):  # under a larger limit: 401, still unstored
        answers = {post(body).status_code for _ in range(20)}
    assert answers == {401}
    assert not WebhookEvent.objects.exists()
    assert stored_bytes() == WebhookRejection.SAMPLE_BYTES


def test_without_a_verifier_token_nothing_is_stored_and_the_log_says_why(
        qbo_simulator, qbo_connection, caplog):
    body, _ = signed([cloudevent("ev-1")])
    with webhooks_on(WEBHOOK_VERIFIER_TOKEN=""):
        resp = post(body, sign(body, VERIFIER))
    assert resp.status_code == 401
    assert not WebhookEvent.objects.exists()
    assert WebhookRejection.objects.get().reason == "no_verifier"
    assert "WEBHOOK_VERIFIER_TOKEN" in caplog.text and VERIFIER not in caplog.text


def test_a_sample_never_holds_a_nul_and_a_counter_is_one_row_per_day_and_reason(
        qbo_simulator, qbo_connection):
    body = b"\x00" * 2000
    with webhooks_on():
        for _ in range(3):
            assert post(body).status_code == 401
    row = WebhookRejection.objects.get()
    assert row.count == 3 and "\x00" not in row.sample and len(row.sample) == 512


# 2. A size limit --------------------------------------------------------------------------


class Stream:
    """A request body that records how much was read of it."""

    def __init__(self, data: bytes) -> None:
        self.data, self.read_bytes = io.BytesIO(data), 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.data.read(size)
        self.read_bytes += len(chunk)
        return chunk


def test_a_declared_length_over_the_limit_is_refused_unread(qbo_simulator, qbo_connection):
    stream = Stream(b"x" * (3 * MB))
    with webhooks_on():
        status, message = webhooks.receive(stream, {}, str(3 * MB))
    assert status == 413 and "1048576 bytes" in message and "WEBHOOK_MAX_BYTES" in message
    assert stream.read_bytes == 0
    assert WebhookRejection.objects.get().reason == "too_large"


def test_a_body_without_a_length_is_read_only_to_the_limit(qbo_simulator, qbo_connection):
    stream = Stream(b"x" * (3 * MB))
    with webhooks_on(WEBHOOK_MAX_BYTES=1000):
        status, _ = webhooks.receive(stream, {}, None)
    assert status == 413
    assert stream.read_bytes == 1001  # the limit and one byte to know it is over
    assert not WebhookEvent.objects.exists()


def test_the_view_answers_413_with_a_clear_message(qbo_simulator, qbo_connection):
    body, signature = signed([cloudevent("ev-1")])
    with webhooks_on(WEBHOOK_MAX_BYTES=len(body) - 1):
        resp = post(body, signature)
    assert resp.status_code == 413
    assert "larger than" in resp.json()["message"]
    with webhooks_on(WEBHOOK_MAX_BYTES=len(body)):  # exactly the limit is fine
        assert post(body, signature).status_code == 200


# 3. Processing bounded per company ---------------------------------------------------------


@pytest.fixture
def broker(monkeypatch):
    """Tasks the webhook code queues, held instead of run inline (a busy broker)."""
    held: list[tuple[str, tuple]] = []

    def queue(func: str, *args: Any, name: str, **kwargs: Any) -> bool:
        held.append((func, args))
        return True

    monkeypatch.setattr(webhooks, "queue_task", queue)
    return held


def run(held: list[tuple[str, tuple]]) -> list[dict]:
    from qbo_sync import tasks

    results = []
    while held:
        func, args = held.pop(0)
        results.append(getattr(tasks, func.rsplit(".", 1)[-1])(*args))
    return results


def test_fifty_deliveries_for_one_company_queue_one_task_and_one_pull(
        qbo_simulator, qbo_connection, host_contact, qbo_customer, broker,
        django_capture_on_commit_callbacks):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], Decimal("100.00"))
    qbo_simulator.clear_log()
    with webhooks_on():
        for i in range(50):
            body, signature = signed([cloudevent(f"ev-{i}")])
            with django_capture_on_commit_callbacks(execute=True):
                assert post(body, signature).status_code == 200
        assert broker == [("qbo_sync.tasks.process_webhooks", (US_REALM,))]
        results = run(broker)
    assert len(results) == 1 and results[0]["events"] == 50
    cdc = [c for c in api_calls(qbo_simulator) if c.path.endswith("/cdc")]
    assert len(cdc) == 1
    assert WebhookEvent.objects.filter(processed=True).count() == 50
    assert SeenEvent.objects.count() == 50
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Connection.objects.get().webhook_pull_queued_at is None


def test_deliveries_during_a_pull_queue_at_most_one_more(
        qbo_simulator, qbo_connection, broker, django_capture_on_commit_callbacks,
        monkeypatch):
    """While a task pulls, new deliveries queue one more task between them; the burst
    never holds more than two tasks of one company (one running, one waiting)."""
    pull = webhooks._pull_realm
    during: list[int] = []

    def slow_pull(realm: str) -> dict:
        for i in range(25):  # deliveries arriving while this pull runs
            body, signature = signed([cloudevent(f"late-{i}")])
            with django_capture_on_commit_callbacks(execute=True):
                assert post(body, signature).status_code == 200
        during.append(len(broker))
        return pull(realm)

    with webhooks_on():
        for i in range(25):
            body, signature = signed([cloudevent(f"ev-{i}")])
            with django_capture_on_commit_callbacks(execute=True):
                post(body, signature)
        assert len(broker) == 1
        monkeypatch.setattr(webhooks, "_pull_realm", slow_pull)
        first = run([broker.pop(0)])
        assert during == [1]  # 25 more deliveries, one more task
        monkeypatch.setattr(webhooks, "_pull_realm", pull)
        second = run(broker)
    assert [r["events"] for r in first + second] == [25, 25]
    assert WebhookEvent.objects.filter(processed=False).count() == 0


def test_a_refused_broker_lets_the_next_delivery_queue_again(
        qbo_simulator, qbo_connection, monkeypatch, django_capture_on_commit_callbacks):
    calls: list[str] = []
    monkeypatch.setattr(webhooks, "queue_task",
                        lambda func, *a, name, **k: calls.append(func) or False)
    with webhooks_on():
        for i in range(2):
            body, signature = signed([cloudevent(f"ev-{i}")])
            with django_capture_on_commit_callbacks(execute=True):
                assert post(body, signature).status_code == 200
    assert len(calls) == 2  # the mark was dropped when the broker refused
    assert Connection.objects.get().webhook_pull_queued_at is None


def test_a_company_nobody_is_connected_to_is_settled_without_a_task(
        qbo_simulator, qbo_connection, broker, django_capture_on_commit_callbacks):
    qbo_simulator.clear_log()
    with webhooks_on():
        for i in range(5):
            body, signature = signed([cloudevent(f"ev-{i}", realm="4620816365999999999")])
            with django_capture_on_commit_callbacks(execute=True):
                assert post(body, signature).status_code == 200
    assert broker == []
    assert WebhookEvent.objects.filter(processed=True).count() == 5
    assert api_calls(qbo_simulator, "4620816365999999999") == []


def test_a_delivery_for_two_companies_is_done_when_both_are(
        qbo_simulator, qbo_connection, broker, django_capture_on_commit_callbacks):
    other = "4620816365999999999"  # no workspace: settled at once
    body, signature = signed([cloudevent("a", realm=US_REALM), cloudevent("b", realm=other)])
    with webhooks_on():
        with django_capture_on_commit_callbacks(execute=True):
            assert post(body, signature).status_code == 200
        event = WebhookEvent.objects.get()
        assert not event.processed  # the connected company's part is still queued
        run(broker)
    event.refresh_from_db()
    assert event.processed and event.error == ""
    assert set(SeenEvent.objects.values_list("realm_id", flat=True)) == {US_REALM, other}


def test_a_failed_pull_keeps_the_deliveries_for_replay(
        qbo_simulator, qbo_connection, broker, django_capture_on_commit_callbacks):
    body, signature = signed([cloudevent("ev-1")])
    qbo_simulator.inject("error", status=503, entity="cdc")
    with webhooks_on():
        with django_capture_on_commit_callbacks(execute=True):
            post(body, signature)
        [result] = run(broker)
    assert "Service Unavailable" in result["error"]
    event = WebhookEvent.objects.get()
    assert not event.processed and "Service Unavailable" in event.error
    assert not SeenEvent.objects.exists()


def test_a_task_reads_its_company_deliveries_with_a_few_queries(
        qbo_simulator, qbo_connection, broker, django_capture_on_commit_callbacks):
    with webhooks_on():
        for i in range(30):
            body, signature = signed([cloudevent(f"ev-{i}", entity="customer")])
            with django_capture_on_commit_callbacks(execute=True):
                post(body, signature)
        with CaptureQueriesContext(db_connection) as queries:
            [result] = run(broker)
    assert result["events"] == 30 and "pulled" not in result  # customers are not pulled
    assert len(queries) <= 10  # not one per delivery


def test_superusers_see_the_refused_counts_in_the_admin(admin_client, qbo_simulator,
                                                        qbo_connection):
    with webhooks_on():
        post(b"{}")
    resp = admin_client.get(reverse("admin:qbo_sync_webhookrejection_changelist"))
    assert resp.status_code == 200 and "No intuit-signature header" in resp.content.decode()


def test_a_long_backlog_is_read_in_batches_under_one_pull(
        qbo_simulator, qbo_connection, broker, django_capture_on_commit_callbacks,
        monkeypatch):
    """Read 10 at a time, but pulled once: every delivery stored before the pull began
    is inside its window."""
    monkeypatch.setattr(webhooks, "REALM_BATCH", 10)
    with webhooks_on():
        for i in range(25):
            body, signature = signed([cloudevent(f"ev-{i}")])
            with django_capture_on_commit_callbacks(execute=True):
                post(body, signature)
        assert len(broker) == 1
        qbo_simulator.clear_log()
        results = run(broker)
    assert [(r["events"], r["processed"]) for r in results] == [(25, 25)]
    assert len([c for c in qbo_simulator.requests_log if "/cdc" in c.path]) == 1
    assert WebhookEvent.objects.filter(processed=False).count() == 0


def test_a_delivery_stored_during_the_pull_gets_a_pull_of_its_own(
        qbo_simulator, qbo_connection, broker, django_capture_on_commit_callbacks,
        monkeypatch):
    real = webhooks._pull_realm
    late: list[int] = []

    def pull_while_one_arrives(realm_id):
        summary = real(realm_id)
        if not late:
            body, signature = signed([cloudevent("ev-late")])
            with django_capture_on_commit_callbacks(execute=True):
                post(body, signature)
            late.append(WebhookEvent.objects.order_by("pk").last().pk)
        return summary

    monkeypatch.setattr(webhooks, "_pull_realm", pull_while_one_arrives)
    with webhooks_on():
        body, signature = signed([cloudevent("ev-first")])
        with django_capture_on_commit_callbacks(execute=True):
            post(body, signature)
        results = run(broker)
    assert [r["events"] for r in results] == [1, 1]  # the late one was left to a new pull
    assert "pulled" in results[1]
    assert WebhookEvent.objects.filter(processed=False).count() == 0
