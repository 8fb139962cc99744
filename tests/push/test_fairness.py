"""Many companies share the workers: a company whose budget is spent gives its worker
back at once, its jobs come back at the exact moment its budget frees, and another
company's steady pushes go meanwhile (issue 12)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Min
from django.test import override_settings
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.models import OrmQ

from qbo_sync.models import BudgetHit
from qbo_sync.qbo import throttle
from qbo_sync.sync import queue
from qbo_sync.testing.simulator.companies import UK_REALM, US_REALM

from .conftest import job_for, qbo, run_due, send_invoice

UK_LINES = [{"category": "design", "description": "Design", "quantity": Decimal("1"),
             "unit_price": Decimal("100.00"), "tax_rate": Decimal("20.00")}]


def test_a_company_out_of_budget_never_holds_up_another(
        qbo_simulator, connected, uk_connected, contact, uk_contact, monkeypatch):
    slept: list[float] = []
    real_sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda s: (slept.append(s), real_sleep(min(s, 0.01))))
    # The database storage on every stack: the test reads its rows (BudgetHit).
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "RATE_LIMIT_PER_MINUTE": 2,
                                     "RATE_LIMIT_MAX_WAIT": 1,
                                     "RATE_LIMIT_STORAGE": throttle.DATABASE_STORAGE}):
        for _ in range(2):  # the US company's backfill spent its minute
            with throttle.budget(connected.realm_id):
                pass
        oldest = BudgetHit.objects.filter(key__contains=f"/requests/{US_REALM}/2/").aggregate(
            at=Min("at"))["at"]
        backfill = [send_invoice(contact, number=f"INV-{n:05d}") for n in range(1, 4)]
        steady = send_invoice(uk_contact, number="UK-00001", lines=UK_LINES)  # queued last
    # The UK company's push went through at once...
    assert job_for(steady).status == "succeeded", job_for(steady).error_message
    assert len(qbo(qbo_simulator, "Invoice", UK_REALM)) == 1
    # ...while each US job gave its worker back without waiting out the minute,
    assert not [s for s in slept if s > 1]
    # and waits, without a counted try, for the moment the US budget frees.
    frees = datetime.fromtimestamp(oldest + 60 + throttle.WINDOW_MARGIN_SECONDS, tz=UTC)
    for invoice in backfill:
        job = job_for(invoice)
        assert (job.status, job.attempts) == ("pending", 0), job.error_message
        assert abs((job.next_attempt_at - frees).total_seconds()) < 0.001
    assert qbo(qbo_simulator, "Invoice", US_REALM) == []
    throttle.reset()  # the minute passed
    assert [run_due(job_for(invoice)) for invoice in backfill] == ["succeeded"] * 3


def test_a_held_back_job_is_queued_for_the_moment_budget_frees(transactional_db,
                                                                monkeypatch):
    """The ORM broker holds the task in its table until then (workers take only tasks
    whose lock is past), so it is back on time even if the worker that put it off dies."""
    monkeypatch.setattr(queue.Conf, "SYNC", False)
    # The ORM broker on every stack (the Redis one is the next test's).
    monkeypatch.setattr(queue, "shared_broker", lambda: ORM(list_key=queue.Conf.PREFIX))
    at = timezone.now() + timezone.timedelta(seconds=30)
    assert queue.queue_task_at("qbo_sync.tasks.run_job", 7, at=at, name="qbo_sync job 7")
    held = OrmQ.objects.get()
    assert held.lock == at
    broker = ORM(list_key=held.key)
    assert broker.dequeue() is None  # not before its moment
    OrmQ.objects.update(lock=timezone.now() - timezone.timedelta(seconds=1))
    assert len(broker.dequeue()) == 1



def test_without_the_orm_broker_a_timer_queues_the_task_at_its_moment(monkeypatch):
    """A Redis broker cannot hold a task back: a timer in the worker queues it then (and
    the caller's sweeper stays in charge, since a timer dies with its process)."""
    import threading

    queued, done = [], threading.Event()

    def fake_queue_task(func, *args, name):
        queued.append((timezone.now(), func, args))
        done.set()
        return True

    monkeypatch.setattr(queue.Conf, "SYNC", False)
    monkeypatch.setattr(queue, "shared_broker", lambda: object())
    monkeypatch.setattr(queue, "queue_task", fake_queue_task)
    monkeypatch.setattr(queue, "_timer_box", None)
    at = timezone.now() + timezone.timedelta(seconds=0.3)
    assert not queue.queue_task_at("qbo_sync.tasks.run_job", 9, at=at, name="qbo_sync job 9")
    assert done.wait(5)
    [(when, func, args)] = queued
    assert (func, args) == ("qbo_sync.tasks.run_job", (9,))
    assert when >= at
