"""Webhook deliveries retry by themselves, never hold a worker behind a running pull,
and a dead pull's lock frees quickly (issue 16, defects 4 and 8)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from example_project.billing.models import Invoice
from qbo_sync import tasks
from qbo_sync.models import Connection, WebhookEvent
from qbo_sync.pull import webhooks
from qbo_sync.pull.cycle import pull_connection
from qbo_sync.pull.lock import realm_lock
from qbo_sync.testing.simulator.companies import US_REALM

from .support import linked_invoice
from .test_webhooks import deliver  # noqa: F401 - the fixture

D = Decimal
pytestmark = pytest.mark.django_db


def _paid_in_qbo(sim, conn, contact, customer):
    invoice, qbo = linked_invoice(conn, contact, customer)
    sim.webhooks.flush()  # the invoice's own Create event
    sim.accountant.record_payment(US_REALM, qbo["Id"], D("100.00"))
    return invoice


def _make_due(event: WebhookEvent) -> None:
    WebhookEvent.objects.filter(pk=event.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_failed_delivery_is_retried_with_backoff_by_the_sweeper(
    qbo_simulator, qbo_connection, host_contact, qbo_customer, deliver  # noqa: F811
):
    invoice = _paid_in_qbo(qbo_simulator, qbo_connection, host_contact, qbo_customer)
    qbo_simulator.inject("error", status=503, entity="cdc", times=2)
    qbo_simulator.webhooks.flush()
    event = WebhookEvent.objects.order_by("pk").last()
    assert (event.processed, event.attempts) == (False, 1)
    first_delay = event.next_attempt_at - timezone.now()
    assert timedelta(seconds=20) < first_delay <= webhooks.RETRY_FIRST

    tasks.sweep()  # not due yet: nothing happens
    event.refresh_from_db()
    assert event.attempts == 1

    _make_due(event)
    tasks.sweep()  # fails again: the delay doubles
    event.refresh_from_db()
    assert (event.processed, event.attempts) == (False, 2)
    assert event.next_attempt_at - timezone.now() > first_delay

    _make_due(event)
    tasks.sweep()
    event.refresh_from_db()
    assert event.processed and event.error == ""
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_a_delivery_behind_a_running_pull_is_postponed_not_failed(
    qbo_simulator, qbo_connection, host_contact, qbo_customer, deliver  # noqa: F811
):
    invoice = _paid_in_qbo(qbo_simulator, qbo_connection, host_contact, qbo_customer)
    with realm_lock(US_REALM) as lock:
        assert lock
        started = timezone.now()
        qbo_simulator.webhooks.flush()
        waited = timezone.now() - started
    assert waited < timedelta(seconds=5)  # it did not wait for the lock
    event = WebhookEvent.objects.order_by("pk").last()
    assert (event.processed, event.attempts, event.error) == (False, 0, "")
    assert event.next_attempt_at > timezone.now()
    _make_due(event)
    tasks.sweep()
    event.refresh_from_db()
    assert event.processed
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_a_stranded_delivery_is_redispatched(
    qbo_simulator, qbo_connection, host_contact, qbo_customer, deliver, monkeypatch  # noqa: F811
):
    """Stored, but its task was lost (a worker killed, the broker restarted)."""
    invoice = _paid_in_qbo(qbo_simulator, qbo_connection, host_contact, qbo_customer)
    monkeypatch.setattr(webhooks, "queue_task", lambda *a, **k: True)  # the task vanishes
    qbo_simulator.webhooks.flush()
    monkeypatch.undo()
    event = WebhookEvent.objects.order_by("pk").last()
    assert not event.processed
    tasks.sweep()
    event.refresh_from_db()
    assert not event.processed  # recent: its task may still be on its way
    old = timezone.now() - webhooks.QUEUED_LEASE - timedelta(seconds=1)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=old)
    Connection.objects.filter(pk=qbo_connection.pk).update(webhook_pull_queued_at=old)
    tasks.sweep()
    event.refresh_from_db()
    assert event.processed
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def _two_paid(sim, conn, contact, customer):
    for _ in (1, 2):
        _, qbo = linked_invoice(conn, contact, customer)
        sim.accountant.record_payment(US_REALM, qbo["Id"], D("40.00"))


def test_the_pull_lock_is_renewed_between_jobs(qbo_simulator, qbo_connection, host_contact,
                                               qbo_customer, monkeypatch):
    _two_paid(qbo_simulator, qbo_connection, host_contact, qbo_customer)
    from qbo_sync.pull import cycle

    stamps = []
    real = cycle.run_job

    def watched(pk):
        stamps.append(Connection.objects.get(pk=qbo_connection.pk).pull_started_at)
        return real(pk)

    monkeypatch.setattr(cycle, "run_job", watched)
    summary = pull_connection(qbo_connection.pk)
    assert summary["jobs"] == 2 and summary["succeeded"] == 2, summary
    assert len(stamps) == 2 and stamps[0] < stamps[1]  # renewed before each job
    qbo_connection.refresh_from_db()
    assert qbo_connection.pull_started_at is None  # released at the end


def test_a_pull_that_lost_its_lock_stops_and_keeps_the_cursor(
    qbo_simulator, qbo_connection, host_contact, qbo_customer, monkeypatch
):
    _two_paid(qbo_simulator, qbo_connection, host_contact, qbo_customer)
    from qbo_sync.pull import cycle

    real = cycle.run_job
    ran = []

    def stalled(pk):
        # This worker stalled past its lease and another pull took the company over.
        Connection.objects.filter(pk=qbo_connection.pk).update(pull_started_at=timezone.now())
        ran.append(pk)
        return real(pk)

    monkeypatch.setattr(cycle, "run_job", stalled)
    summary = pull_connection(qbo_connection.pk)
    assert "took over" in summary["error"] and len(ran) == 1
    qbo_connection.refresh_from_db()
    assert qbo_connection.cdc_cursor is None  # the next pull reads the window again
    assert qbo_connection.pull_started_at is not None  # the other pull's stamp is left alone
