"""The sweeper hands the broker only what it does not already hold, and waiting jobs
point at what they wait for through an indexed column."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from qbo_sync.models import SyncJob
from qbo_sync.sync import outbox


def _job(conn, **fields) -> SyncJob:
    values = {"connection": conn, "workspace": conn.workspace, "entity": "invoice",
              "action": "create", "status": SyncJob.Status.PENDING,
              "next_attempt_at": timezone.now() - timedelta(seconds=1)}
    return SyncJob.objects.create(**{**values, **fields})


def test_a_sweep_skips_jobs_already_in_the_broker(qbo_connection, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr(outbox, "queue_task", lambda *a, **k: sent.append(a[1]) or True)
    now = timezone.now()
    queued = [_job(qbo_connection, dispatched_at=now) for _ in range(300)]
    never = _job(qbo_connection)
    lost = _job(qbo_connection, dispatched_at=now - timedelta(hours=1))
    retry_due = _job(qbo_connection, dispatched_at=now - timedelta(minutes=2),
                     next_attempt_at=now - timedelta(minutes=1))
    assert outbox.sweep() == 3
    assert sorted(sent) == sorted([never.pk, lost.pk, retry_due.pk])
    assert not set(sent) & {j.pk for j in queued}
    # Each dispatch is recorded, so the next sweep sends nothing again.
    sent.clear()
    assert outbox.sweep() == 0 and sent == []


def test_a_refused_dispatch_is_not_marked(qbo_connection, monkeypatch):
    monkeypatch.setattr(outbox, "queue_task", lambda *a, **k: False)
    job = _job(qbo_connection)
    outbox.dispatch(job.pk)
    job.refresh_from_db()
    assert job.dispatched_at is None  # the next sweep tries again
