"""A save reads the workspace's connection once per process (outbox.connection_snapshot);
a change made elsewhere since (another process, a QuerySet update) is still seen before
the save's push is written or dropped."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from qbo_sync.models import Connection, SyncJob
from qbo_sync.sync import queue

from .conftest import send_invoice


def _job(invoice) -> SyncJob | None:
    return SyncJob.objects.filter(object_id=str(invoice.pk), entity="invoice").first()


def test_a_connection_marked_for_reconnect_elsewhere_parks_the_next_push(connected, contact,
                                                                         monkeypatch):
    monkeypatch.setattr(queue.Conf, "SYNC", False)  # the job as written, not yet run
    assert _job(send_invoice(contact, number="INV-00001")).status == "pending"
    Connection.objects.filter(pk=connected.pk).update(status=Connection.Status.ERROR)
    job = _job(send_invoice(contact, number="INV-00002"))
    assert (job.status, job.dispatched_at) == ("parked", None)


def test_a_connection_disconnected_elsewhere_queues_nothing(connected, contact):
    send_invoice(contact, number="INV-00001")
    Connection.objects.filter(pk=connected.pk).update(status=Connection.Status.DISCONNECTED)
    assert _job(send_invoice(contact, number="INV-00002")) is None


def test_a_connection_replaced_elsewhere_gets_the_push(connected, contact):
    send_invoice(contact, number="INV-00001")
    old = Connection.objects.get(pk=connected.pk)
    old.pk = None
    Connection.objects.filter(pk=connected.pk).delete()
    old.save()
    job = _job(send_invoice(contact, number="INV-00002"))
    assert job.connection_id == old.pk and job.status == "succeeded"


def test_an_earlier_connection_date_set_elsewhere_is_seen(connected, contact):
    send_invoice(contact, number="INV-00001")  # the process remembers: a week ago
    earlier = timezone.now() - timedelta(days=30)
    Connection.objects.filter(pk=connected.pk).update(connected_at=earlier)
    ten_days_ago = timezone.localdate() - timedelta(days=10)
    invoice = send_invoice(contact, number="INV-00002", issue_date=ten_days_ago)
    assert _job(invoice).status == "succeeded"


def test_an_invoice_from_before_the_connection_is_still_left_to_history(connected, contact):
    send_invoice(contact, number="INV-00001")
    long_ago = timezone.localdate() - timedelta(days=60)
    assert _job(send_invoice(contact, number="INV-00002", issue_date=long_ago)) is None
