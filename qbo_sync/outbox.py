"""The outbox: a sync intent becomes a ``SyncJob`` row in the caller's transaction,
and a django-q2 task is enqueued only once that transaction commits (the
django-q #154 race). Nothing here talks to QBO (DESIGN.md invariants 1 and 4)."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from .adapters import get_adapter
from .models import Connection, SyncJob

logger = logging.getLogger("qbo_sync.outbox")

#: Job action per entity when the intent is "make QBO match the host".
PUSH_ACTIONS = {
    "contact": "sync",
    "invoice": "sync",
    "payment": "sync_payment",
    "credit_memo": "credit_memo",
    "refund": "refund",
}


def connection_for(workspace: str) -> Connection | None:
    """The workspace's connection if it can take jobs (connected or waiting for a
    reconnect); None when it was never connected or is disconnected."""
    return (
        Connection.objects.filter(workspace=workspace)
        .exclude(status=Connection.Status.DISCONNECTED)
        # Decrypting tokens costs CPU on every host save; the outbox never needs them
        # (a deferred field still loads on access, so callers stay correct).
        .defer("access_token", "refresh_token", "key_canary")
        .first()
    )


def enqueue(
    kind: str,
    obj: Any,
    *,
    action: str | None = None,
    connection: Connection | None = None,
    delay: float = 0,
) -> SyncJob | None:
    """Record the intent to push ``obj`` (of adapter ``kind``) and schedule it.

    Coalesces with a job for the same object that has not started yet, so a burst
    of saves costs one row. Returns the job, or None when the workspace has no
    connection.
    """
    adapter = get_adapter(kind)
    if adapter is None:
        return None
    workspace = adapter.workspace_of(obj)
    conn = connection or connection_for(workspace)
    if conn is None:
        return None
    ct = ContentType.objects.get_for_model(type(obj))
    action = action or PUSH_ACTIONS[kind]
    due = timezone.now() + timezone.timedelta(seconds=delay)
    waiting = (
        SyncJob.objects.filter(
            content_type=ct, object_id=str(obj.pk), entity=kind,
            direction=SyncJob.Direction.PUSH,
            status__in=[SyncJob.Status.PENDING, SyncJob.Status.PARKED],
        )
        .order_by("pk")
        .first()
    )
    if waiting is not None and _join(waiting, action):
        return waiting
    status = SyncJob.Status.PENDING if conn.is_connected else SyncJob.Status.PARKED
    job = SyncJob.objects.create(
        connection=conn, workspace=workspace, content_type=ct, object_id=str(obj.pk),
        entity=kind, action=action, status=status, next_attempt_at=due,
        max_attempts=int(_retry("MAX_ATTEMPTS")),
    )
    if status == SyncJob.Status.PENDING:
        dispatch_on_commit(job.pk)
    return job


def _join(waiting: SyncJob, action: str) -> bool:
    """Let the waiting job carry this change too (it reads the object when it runs).

    The UPDATE, not a plain read, is what makes this safe: it locks the row until the
    caller's transaction commits, so a worker cannot claim the job and read the object
    before this change is visible. If a worker claimed it first, nothing is updated
    and the caller writes a new job instead (nothing is lost, DESIGN.md invariant 1).
    """
    fields: dict[str, Any] = {"updated_at": timezone.now()}
    if action == "void":
        fields["action"] = "void"
    joined = SyncJob.objects.filter(pk=waiting.pk, status=waiting.status).update(**fields)
    if joined and action == "void":
        waiting.action = "void"
    return bool(joined)


def dispatch_on_commit(job_id: int) -> None:
    """Hand the job to a worker once the current transaction commits."""
    transaction.on_commit(lambda: dispatch(job_id))


def dispatch(job_id: int) -> None:
    from django_q.tasks import async_task

    try:
        async_task("qbo_sync.tasks.run_job", job_id, task_name=f"qbo_sync job {job_id}",
                   group="qbo_sync")
    except Exception:  # noqa: BLE001 - the row is safe; the sweeper will pick it up
        logger.exception("could not enqueue job %s; the sweeper will run it", job_id)


def _retry(key: str) -> Any:
    from .conf import app_settings

    return app_settings.RETRY[key]
