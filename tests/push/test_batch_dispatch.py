"""How batchable jobs reach workers (outbox.dispatch_many with ``drain``): one broker
task per ``BATCH_SIZE`` jobs, and no job left without a worker whichever task runs
first."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from example_project.billing.models import Contact
from qbo_sync import receivers, tasks
from qbo_sync.models import SyncJob
from qbo_sync.sync import outbox

from .conftest import api_calls


@pytest.fixture
def broker(monkeypatch):
    """The tasks the outbox queues, recorded instead of sent; ``refuse`` holds the
    numbers (from 0) of the calls the broker refuses."""
    sent: list[tuple[int, dict]] = []
    refuse: set[int] = set()
    calls = iter(range(10**6))

    def queue(func: str, job_id: int, *, name: str, **kwargs) -> bool:
        assert func == "qbo_sync.tasks.run_job"
        if next(calls) in refuse:
            return False
        sent.append((job_id, kwargs))
        return True

    monkeypatch.setattr(outbox, "queue_task", queue)
    return sent, refuse


def _backfill(workspace, connection, n: int) -> list[int]:
    with receivers.muted():
        contacts = [Contact.objects.create(workspace=workspace, currency="USD",
                                           display_name=f"Customer {i:03d} LLC")
                    for i in range(n)]
    outbox.enqueue_many("contact", contacts, connection=connection)
    return list(SyncJob.objects.order_by("pk").values_list("pk", flat=True))


def _batch_sizes(sim) -> list[int]:
    return [len(json.loads(r.body)["BatchItemRequest"]) for r in api_calls(sim)
            if r.path.endswith("/batch")]


def test_a_backfill_queues_one_task_per_batch(qbo_simulator, connected, us_workspace,
                                               broker):
    sent, _ = broker
    pks = _backfill(us_workspace, connected, 65)
    assert sent == [(pks[0], {"drain": True}), (pks[30], {"drain": True}),
                    (pks[60], {"drain": True})]
    # Every job counts as handed over: the sweeper leaves them to these tasks.
    assert not SyncJob.objects.filter(dispatched_at=None).exists()
    assert outbox.sweep() == 0


def test_whichever_task_runs_first_every_job_runs_once(qbo_simulator, connected,
                                                       us_workspace, broker):
    sent, _ = broker
    pks = _backfill(us_workspace, connected, 65)
    qbo_simulator.clear_log()
    # The last task first: it takes its own job and the 29 oldest, so the first task's
    # job is taken when its turn comes, and that task runs the last due ones instead.
    results = [tasks.run_job(job_id, **kwargs) for job_id, kwargs in reversed(sent)]
    assert results == ["succeeded", "succeeded", ""]
    assert SyncJob.objects.filter(status="succeeded").count() == 65
    assert sorted(_batch_sizes(qbo_simulator)) == [5, 30, 30]
    assert set(SyncJob.objects.values_list("attempts", flat=True)) == {1}
    assert sorted(pk for pk, in SyncJob.objects.values_list("pk")) == pks


def test_a_task_whose_job_was_taken_finds_nothing_left_quietly(qbo_simulator, connected,
                                                               us_workspace, broker):
    sent, _ = broker
    _backfill(us_workspace, connected, 20)
    assert tasks.run_job(sent[0][0], **sent[0][1]) == "succeeded"
    qbo_simulator.clear_log()
    assert tasks.run_job(sent[0][0], drain=True) == ""
    assert api_calls(qbo_simulator) == []


def test_a_refused_task_leaves_its_batch_to_the_sweeper(qbo_simulator, connected,
                                                        us_workspace, broker):
    sent, refuse = broker
    refuse.add(1)  # the second batch's task
    pks = _backfill(us_workspace, connected, 45)
    assert [job_id for job_id, _ in sent] == [pks[0]]
    unmarked = SyncJob.objects.filter(dispatched_at=None).values_list("pk", flat=True)
    assert sorted(unmarked) == pks[30:]
    sent.clear()
    assert outbox.sweep() == 15  # the sweeper sends each of them itself
    assert sorted(job_id for job_id, _ in sent) == pks[30:]


def test_jobs_that_do_not_batch_get_a_task_each(qbo_simulator, connected, us_workspace,
                                                broker):
    sent, _ = broker
    with override_settings(QBO_SYNC={**_settings(), "BATCH_SIZE": 1}):
        pks = _backfill(us_workspace, connected, 3)
    assert sent == [(pk, {}) for pk in pks]


def _settings() -> dict:
    from django.conf import settings

    return settings.QBO_SYNC


def test_a_backfill_costs_at_most_10_statements_and_2_transactions_per_record(
        qbo_simulator, connected, us_workspace, broker):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from example_project.billing.models import Invoice, InvoiceLine

    from .conftest import DEFAULT_LINES

    sent, _ = broker
    with receivers.muted():
        contacts = [Contact.objects.create(workspace=us_workspace, currency="USD",
                                           display_name=f"Customer {i:03d} LLC")
                    for i in range(30)]
        invoices = []
        for n in range(60):
            invoice = Invoice.objects.create(workspace=us_workspace, number=f"INV-{n:05d}",
                                             contact=contacts[n % 30], currency="USD",
                                             status=Invoice.Status.SENT)
            InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, position=i, **line)
                                             for i, line in enumerate(DEFAULT_LINES)])
            invoices.append(invoice)
    outbox.enqueue_many("contact", contacts, connection=connected)
    outbox.enqueue_many("invoice", invoices, connection=connected)
    with CaptureQueriesContext(connection) as captured:
        while sent:
            job_id, kwargs = sent.pop(0)
            tasks.run_job(job_id, **kwargs)
    # Three full batches: 30 customers, then 60 invoices in two.
    assert SyncJob.objects.filter(status="succeeded").count() == 90
    assert len(_batch_sizes(qbo_simulator)) == 3
    statements = [q["sql"] for q in captured.captured_queries]
    transactions = [s for s in statements if s.startswith("BEGIN")]
    assert len(statements) <= 10 * 90, len(statements) / 90
    assert len(transactions) <= 2 * 90


def test_a_link_written_elsewhere_after_a_batch_read_is_used_not_duplicated(
        connected, us_workspace):
    from qbo_sync.models import EntityLink
    from qbo_sync.sync import links

    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace, display_name="Hooli LLC")
    with links.remembered(connected, Contact, [contact.pk]):
        assert links.find_link(connected, contact) is None  # read once, known missing
        theirs = EntityLink.objects.create(  # another worker, meanwhile
            connection=connected, content_type_id=links._key(connected, contact, "")[1],
            object_id=str(contact.pk), qbo_type="Customer", qbo_id="58")
        link = links.get_link(connected, contact, "Customer")
        assert (link.pk, link.qbo_id) == (theirs.pk, "58")
        assert links.find_link(connected, contact) is link  # from memory now
    assert EntityLink.objects.filter(object_id=str(contact.pk)).count() == 1
