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
    if waiting is not None:
        # The waiting job reads the object when it runs, so it carries this change too.
        if action == "void" and waiting.action != "void":
            waiting.action = "void"
            waiting.save(update_fields=["action", "updated_at"])
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
