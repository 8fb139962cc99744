"""The outbox: a sync intent becomes a ``SyncJob`` row in the caller's transaction,
and a django-q2 task is enqueued only once that transaction commits (the
django-q #154 race). Every change of a job's state that is not a run happens here:
enqueue, dispatch, park, resume, retry by hand and the sweep. Nothing here talks to
QBO (docs/architecture.md, invariants 1 and 4)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import router, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..adapters import get_adapter
from ..conf import app_settings
from ..exceptions import ReconnectRequired, TransientError
from ..models import Connection, JobAction, JobRetry, JobTrigger, SyncJob
from .insert import SNAPSHOT_FIELDS, insert_unless_waiting, unchanged, waiting_jobs
from .queue import queue_task, queue_task_at

logger = logging.getLogger("qbo_sync.outbox")

#: Job action per entity when the intent is "make QBO match the host".
PUSH_ACTIONS = {
    "contact": JobAction.SYNC,
    "invoice": JobAction.SYNC,
    "payment": JobAction.SYNC_PAYMENT,
    "credit_memo": JobAction.CREDIT_MEMO,
    "refund": JobAction.REFUND,
    "time_entry": JobAction.SYNC,
}


#: Push actions that still run when the host record is gone (``push/gone.py``): a record
#: deleted in the app is voided or deleted in QuickBooks from its link alone.
GONE_ACTIONS = (JobAction.VOID, JobAction.DELETE)
#: Kinds whose deletion in the app reaches QuickBooks.
GONE_KINDS = ("invoice", "payment", "contact", "time_entry")

#: Kinds a batch run takes (``sync/batch.py``), in dependency order: a kind runs after
#: those before it.
BATCH_ORDER = {"contact": 0, "invoice": 1, "credit_memo": 1, "refund": 1, "payment": 2}
#: Actions that are never claimed alongside others: they write no create to batch.
ALONE = (JobAction.VOID, JobAction.DELETE, JobAction.SETTLE)


def batchable(entity: str, action: str, direction: str = SyncJob.Direction.PUSH) -> bool:
    """Whether a job of this kind may run in a batch run with its connection's others."""
    return (direction == SyncJob.Direction.PUSH and entity in BATCH_ORDER
            and action not in ALONE)


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


class StaleConnection(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The connection this process remembered (:func:`connection_snapshot`) has changed
    since: decide again with a fresh read (:func:`connection_for`)."""


#: What this process last read of each workspace's connection (the values of
#: ``insert.SNAPSHOT_FIELDS``).
_snapshots: dict[str, list[Any]] = {}


def connection_snapshot(workspace: str) -> Connection | None:
    """:func:`connection_for` without a query when this process read the connection
    before: a fresh instance of what it read then (other fields load on access).

    Nothing trusts it unchecked: :func:`enqueue` writes the job only if the connection
    row still holds those values (in the INSERT itself) and raises
    :class:`StaleConnection` if it no longer does; a decision not to push that rested on
    it is taken again with a fresh read (``receivers._in_scope``)."""
    values = _snapshots.get(workspace)
    if values is None:
        conn = connection_for(workspace)
        if conn is not None and conn.connected_at is not None:
            _snapshots[workspace] = [getattr(conn, name) for name in SNAPSHOT_FIELDS]
        return conn
    conn = Connection.from_db(router.db_for_read(Connection), SNAPSHOT_FIELDS, values)
    conn._qbo_snapshot = True
    return conn


def is_snapshot(conn: Connection | None) -> bool:
    """Whether ``conn`` came from :func:`connection_snapshot`'s memory, unread."""
    return getattr(conn, "_qbo_snapshot", False)


def enqueue(
    kind: str,
    obj: Any,
    *,
    action: str | None = None,
    connection: Connection | None = None,
    delay: float = 0,
    trigger: str = JobTrigger.UNKNOWN,
    user: Any = None,
) -> SyncJob | None:
    """Record the intent to push ``obj`` (of adapter ``kind``) and schedule it.

    Coalesces with a job for the same object that has not started yet, so a burst
    of saves costs one row (the job keeps the trigger and actor of the first). Returns
    the job, or None when the workspace has no connection. ``trigger`` (a
    :class:`~qbo_sync.models.JobTrigger`) and ``user`` record what caused the job.
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
    status = SyncJob.Status.PENDING if conn.is_connected else SyncJob.Status.PARKED
    pending = status == SyncJob.Status.PENDING
    job = SyncJob(
        connection=conn, workspace=workspace, content_type=ct, object_id=str(obj.pk),
        entity=kind, action=action, status=status, next_attempt_at=due,
        max_attempts=int(_retry("MAX_ATTEMPTS")), trigger=trigger, requested_by=_person(user),
        # Marked dispatched in the INSERT, not in an UPDATE after the enqueue: one
        # statement less on every save (unmarked again if the broker refuses it).
        dispatched_at=timezone.now() if pending else None,
    )
    # The usual case, nothing waiting, in one statement; else join the waiting job.
    remembered = conn if is_snapshot(conn) else None
    if not insert_unless_waiting(job, remembered=remembered):
        if remembered is not None and not unchanged(
                {name: getattr(conn, name) for name in SNAPSHOT_FIELDS}).exists():
            _snapshots.pop(workspace, None)
            raise StaleConnection(workspace)
        waiting = waiting_jobs(ct.pk, str(obj.pk), kind, action)
        found = waiting.order_by("pk").first()
        if found is not None and _join(found, action, trigger):
            return found
        job.save(force_insert=True)  # a worker took it first: a job of our own
    if pending:
        _mark([job.pk])
        dispatch_on_commit(job.pk)
    return job


#: Jobs written already marked dispatched (by :func:`enqueue`): their dispatch needs no
#: UPDATE, unless the broker refuses them.
_marked: set[int] = set()


def _mark(pks: list[int]) -> None:
    if len(_marked) > 10_000:  # rolled-back saves never dispatch; forgetting costs only
        _marked.clear()        # the UPDATE this set saves
    _marked.update(pks)


def _join(waiting: SyncJob, action: str, trigger: str = "") -> bool:
    """Let the waiting job carry this change too (it reads the object when it runs).

    The UPDATE, not a plain read, is what makes this safe: it locks the row until the
    caller's transaction commits, so a worker cannot claim the job and read the object
    before this change is visible. If a worker claimed it first, nothing is updated
    and the caller writes a new job instead (nothing is lost, docs/architecture.md, invariant 1).
    """
    fields: dict[str, Any] = {"updated_at": timezone.now()}
    if action in GONE_ACTIONS:
        fields["action"] = action
        if trigger:  # the job is now a deletion's: it says so
            fields["trigger"] = trigger
    joined = SyncJob.objects.filter(pk=waiting.pk, status=waiting.status).update(**fields)
    if joined and action in GONE_ACTIONS:
        waiting.action = action
        waiting.trigger = fields.get("trigger", waiting.trigger)
    return bool(joined)


def dispatch_on_commit(job_id: int) -> None:
    """Hand the job to a worker once the current transaction commits."""
    transaction.on_commit(lambda: dispatch(job_id))


def dispatch(job_id: int) -> None:
    """Hand the job to a worker now (if the broker refuses, the sweeper runs it)."""
    dispatch_many([job_id])


def dispatch_jobs_on_commit(jobs: list[tuple[int, str, str, str]]) -> None:
    """Hand jobs of one connection, given as (pk, entity, action, direction), to workers
    once the current transaction commits: those that batch share one task per batch
    (:func:`dispatch_many`), the others get one each."""
    drain = [pk for pk, entity, action, direction in jobs
             if batchable(entity, action, direction)]
    alone = [job[0] for job in jobs if job[0] not in drain]
    transaction.on_commit(lambda: (dispatch_many(drain, drain=True), dispatch_many(alone)))


def dispatch_many(job_ids: list[int], *, drain: bool = False) -> int:
    """Hand jobs to workers, recording when in one UPDATE; returns how many went.

    ``drain``: the jobs are batchable pushes of one connection (:func:`batchable`), and
    one task per ``BATCH_SIZE`` of them is enough: a worker claims its task's job with
    the connection's other due pushes, and a task whose job was already taken so claims
    the next due ones instead (``sync/batch.py``), so each task runs up to
    ``BATCH_SIZE`` jobs and none is left without a worker. A backfill of 1,200 jobs
    costs 40 broker tasks, not 1,200 that mostly find their job taken."""
    size = max(int(app_settings.BATCH_SIZE), 1) if drain else 1
    sent: list[int] = []
    for start in range(0, len(job_ids), size):
        chunk = job_ids[start:start + size]
        extra = {"drain": True} if size > 1 else {}
        if queue_task("qbo_sync.tasks.run_job", chunk[0], name=f"qbo_sync job {chunk[0]}",
                      **extra):
            sent.extend(chunk)
    marked = {pk for pk in job_ids if pk in _marked}
    _marked.difference_update(marked)
    if refused := [pk for pk in marked if pk not in sent]:  # back to the sweeper
        SyncJob.objects.filter(pk__in=refused).update(dispatched_at=None)
    if unmarked := [pk for pk in sent if pk not in marked]:
        SyncJob.objects.filter(pk__in=unmarked).update(dispatched_at=timezone.now())
    return len(sent)


def _person(user: Any) -> Any:
    """``user`` when it is a saved, signed-in user; None (the system) otherwise."""
    return user if getattr(user, "is_authenticated", False) and user.pk is not None else None


def dispatch_at_on_commit(job_id: int, when: datetime) -> None:
    """Hand the job to a worker at ``when`` (its new ``next_attempt_at``), once the
    current transaction commits: the worker that put it off is free meanwhile. If the
    broker cannot hold a task back, or refuses it, the sweeper runs the job instead."""

    def send() -> None:
        if queue_task_at("qbo_sync.tasks.run_job", job_id, at=when,
                         name=f"qbo_sync job {job_id}"):
            # Dispatched for this attempt: the sweeper leaves it to the broker.
            SyncJob.objects.filter(pk=job_id).update(dispatched_at=when)

    transaction.on_commit(send)


def enqueue_many(kind: str, objs: list[Any], *, connection: Connection,
                 trigger: str = JobTrigger.UNKNOWN, user: Any = None) -> int:
    """:func:`enqueue` for many objects of one kind at once (historical syncs): one
    query finds those that already have a waiting job (it will carry them), one
    ``bulk_create`` writes the rest, and they are dispatched after the commit.
    Returns how many objects now have a job."""
    if not objs:
        return 0
    ct = ContentType.objects.get_for_model(type(objs[0]))
    ids = [str(obj.pk) for obj in objs]
    waiting = set(SyncJob.objects.filter(
        content_type=ct, object_id__in=ids, entity=kind, direction=SyncJob.Direction.PUSH,
        status__in=[SyncJob.Status.PENDING, SyncJob.Status.PARKED],
    ).values_list("object_id", flat=True))
    status = SyncJob.Status.PENDING if connection.is_connected else SyncJob.Status.PARKED
    pending = status == SyncJob.Status.PENDING
    now = timezone.now()
    action = PUSH_ACTIONS[kind]
    jobs = SyncJob.objects.bulk_create([
        SyncJob(connection=connection, workspace=connection.workspace, content_type=ct,
                object_id=object_id, entity=kind, action=action, status=status,
                next_attempt_at=now, max_attempts=int(_retry("MAX_ATTEMPTS")),
                trigger=trigger, requested_by=_person(user),
                # Marked in the INSERT, as enqueue does: no UPDATE after the dispatch.
                dispatched_at=now if pending else None)
        for object_id in dict.fromkeys(ids) if object_id not in waiting
    ])
    if pending:
        pks = [job.pk for job in jobs]
        if None in pks:  # a backend that returns no ids from bulk_create
            pks = list(SyncJob.objects.filter(
                content_type=ct, object_id__in=ids, status=status, dispatched_at=now,
                created_at__gte=now).order_by("pk").values_list("pk", flat=True))
        _mark(pks)
        drain = batchable(kind, action)
        transaction.on_commit(lambda: dispatch_many(pks, drain=drain))
    return len(set(ids))


def _retry(key: str) -> Any:
    return app_settings.RETRY[key]


# Parking, resuming, retrying, sweeping ---------------------------------------------------


def _retryable_error_types() -> list[str]:
    """Error types of failed jobs worth running again once the connection works: they
    failed because of the connection or a transient error, not because of their data."""
    names: list[str] = []
    stack: list[type] = [TransientError, ReconnectRequired]
    while stack:
        cls = stack.pop()
        names.append(cls.__name__)
        stack.extend(cls.__subclasses__())
    return names


def park_jobs(workspace: str) -> int:
    """The connection stopped working: its waiting jobs, and those that failed only
    because of the connection, wait for a reconnect. Returns how many."""
    waiting = Q(status=SyncJob.Status.PENDING) | Q(
        status=SyncJob.Status.FAILED, error__type__in=_retryable_error_types())
    return SyncJob.objects.filter(workspace=workspace).filter(waiting).update(
        status=SyncJob.Status.PARKED)


def resume_parked(connection: Connection) -> int:
    """After a reconnect: the workspace's parked jobs become due and are dispatched
    once the current transaction commits. Returns how many."""
    parked = SyncJob.objects.filter(workspace=connection.workspace,
                                    status=SyncJob.Status.PARKED)
    ids = list(parked.values_list("pk", flat=True))
    # One workspace ↔ one company (docs/architecture.md, invariant 8): jobs parked
    # before the connection row existed belong to it too.
    SyncJob.objects.filter(pk__in=ids, connection__isnull=True).update(connection=connection)
    SyncJob.objects.filter(pk__in=ids).update(
        status=SyncJob.Status.PENDING, next_attempt_at=timezone.now()
    )
    for job_id in ids:
        dispatch_on_commit(job_id)
    return len(ids)


def retry_job(job: SyncJob, *, user: Any = None) -> SyncJob:
    """Manual retry from Sync Health: run the job again now, whatever its attempts.

    The attempt cap stays what it is (it caps the automatic retries); a
    :class:`~qbo_sync.models.JobRetry` row records who asked and whether the job had
    used up its attempts, so Sync Health shows the run beyond the cap as a manual retry."""
    if job.status in (SyncJob.Status.RUNNING,):
        raise ValueError("The job is running; wait for it to finish.")
    if job.status == SyncJob.Status.SUCCEEDED:
        raise ValueError("The job already succeeded.")
    conn = job.connection
    parked = conn is None or not conn.is_connected
    job.status = SyncJob.Status.PARKED if parked else SyncJob.Status.PENDING
    job.next_attempt_at = timezone.now()
    # ``requested_by`` keeps who caused the job; the retry row says who retried it.
    with transaction.atomic():
        job.save(update_fields=["status", "next_attempt_at", "updated_at"])
        JobRetry.objects.create(job=job, user=_person(user), attempts=job.attempts,
                                max_attempts=job.max_attempts)
    if not parked:
        dispatch_on_commit(job.pk)
    return job


def sweep(limit: int = 500) -> int:
    """Dispatch due pending jobs and jobs whose worker died (docs/architecture.md,
    invariant 1)."""
    now = timezone.now()
    # A due job whose task is already in the broker is left to it: only jobs never
    # dispatched for this attempt, or dispatched longer ago than a lease (the broker
    # lost them), are sent again, as are running jobs whose worker died.
    lost = now - timedelta(seconds=int(app_settings.JOB_LEASE_SECONDS))
    ids = list(
        SyncJob.objects.filter(
            Q(status=SyncJob.Status.PENDING, next_attempt_at__lte=now)
            & (Q(dispatched_at=None) | Q(dispatched_at__lt=F("next_attempt_at"))
               | Q(dispatched_at__lt=lost))
            | Q(status=SyncJob.Status.RUNNING, claimed_until__lt=now)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    dispatch_many(ids)
    return len(ids)
