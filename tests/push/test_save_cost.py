"""What qbo_sync adds to the host's ``Invoice.send()``: a few SQL statements, no new
database connection, and one broker reused for every enqueue (issue 12)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from example_project.billing.models import Invoice
from qbo_sync import receivers
from qbo_sync.models import SyncJob
from qbo_sync.sync import outbox, queue

from .conftest import make_invoice

#: With the app, once the process has read the connection: the job's INSERT (unless a job
#: is waiting, or the connection changed, in the same statement), and on the ORM broker
#: its own task INSERT (Redis costs no SQL).
EXTRA_ON_ORM, EXTRA_ON_REDIS = 2, 1


def _send(invoice):
    with CaptureQueriesContext(connection) as captured:
        invoice.send()
    return [q["sql"] for q in captured.captured_queries]


def test_sending_an_invoice_costs_a_few_statements_and_no_new_connection(
        connected, contact, monkeypatch):
    monkeypatch.setattr(queue.Conf, "SYNC", False)  # enqueue for real; no inline push
    with receivers.muted():
        baseline = len(_send(make_invoice(contact, number="INV-00001")))
    ContentType.objects.get_for_model(Invoice)  # cached after a process's first save
    make_invoice(contact, number="INV-00003").send()  # a process's first push
    connection.ensure_connection()
    raw = connection.connection
    sql = _send(make_invoice(contact, number="INV-00002"))
    assert connection.connection is raw  # no close, no reconnect
    extra = EXTRA_ON_ORM if isinstance(queue.shared_broker(), queue.ORM) else EXTRA_ON_REDIS
    assert len(sql) <= baseline + extra, [s[:60] for s in sql]
    broker_sql = [s for s in sql if "django_q_ormq" in s]
    if isinstance(queue.shared_broker(), queue.ORM):
        assert len(broker_sql) == 1 and broker_sql[0].startswith("INSERT")
    assert not [s for s in sql if s.startswith("UPDATE") and "qbo_sync_syncjob" in s]
    assert not [s for s in sql if "FROM \"qbo_sync_connection\"" in s.split("EXISTS")[0]]
    assert SyncJob.objects.get(object_id=str(Invoice.objects.get(number="INV-00002").pk)
                               ).dispatched_at is not None


def test_every_enqueue_reuses_the_process_broker(connected, contact, monkeypatch):
    monkeypatch.setattr(queue.Conf, "SYNC", False)
    used = []
    real = queue.async_task
    monkeypatch.setattr(queue, "async_task",
                        lambda *a, broker, **kw: used.append(broker) or real(*a, broker=broker,
                                                                              **kw))
    for n in range(1, 4):
        make_invoice(contact, number=f"INV-{n:05d}").send()
    assert len(used) == 3
    assert all(broker is used[0] for broker in used)


def test_a_refused_enqueue_leaves_the_job_to_the_sweeper(connected, contact, monkeypatch):
    monkeypatch.setattr(queue, "queue_task", lambda *a, **kw: False)
    monkeypatch.setattr("qbo_sync.sync.outbox.queue_task", lambda *a, **kw: False)
    make_invoice(contact, number="INV-00001").send()
    job = SyncJob.objects.get(entity="invoice")
    assert (job.status, job.dispatched_at) == ("pending", None)


def test_the_insert_names_only_what_a_new_job_sets(connected, contact, monkeypatch,
                                                   django_user_model):
    """The columns a new job leaves empty take their database default; a value that is
    not the default (a person asking) is written as given."""
    monkeypatch.setattr(queue.Conf, "SYNC", False)
    sql = _send(make_invoice(contact, number="INV-00001"))
    insert = next(s for s in sql if s.startswith('INSERT INTO "qbo_sync_syncjob"'))
    named = insert.split(") SELECT")[0]
    for column in ("payload", "error", "totals", "claimed_by", "waiting_for_id",
                   "requested_by_id", "started_at"):
        assert f'"{column}"' not in named
    job = SyncJob.objects.get(entity="invoice")
    assert (job.payload, job.error, job.totals, job.response) == ({}, {}, {}, {})
    assert (job.claimed_by, job.error_message, job.qbo_id, job.attempts) == ("", "", "", 0)
    assert (job.direction, job.waiting_for_id, job.requested_by_id) == ("push", None, None)
    assert job.dispatched_at is not None and job.correlation_id is not None

    person = django_user_model.objects.create(username="ada")
    invoice = Invoice.objects.get(number="INV-00001")
    SyncJob.objects.all().delete()
    asked = outbox.enqueue("invoice", invoice, user=person)
    assert SyncJob.objects.get(pk=asked.pk).requested_by_id == person.pk
