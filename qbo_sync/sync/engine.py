"""The job runner: claim a SyncJob under a row lock, run its handler, record the
outcome, and decide what happens next from the exception group (exceptions.py).

Handlers live in :mod:`qbo_sync.push` and :mod:`qbo_sync.pull.apply`; they do the QBO
work and return the QBO id they touched. The engine imports their tables; they import
only :mod:`.job`, never this module. Everything about attempts, backoff and Sync Health
bookkeeping of a run is here, once; job state changes that are not a run (enqueue,
park, resume, retry, sweep) are the outbox's.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, InterfaceError, transaction
from django.db import OperationalError as DatabaseOperationalError
from django.db import connection as db_connection
from django.utils import timezone

from .. import signals
from ..adapters import get_adapter
from ..conf import app_settings
from ..connection.clients import client_for
from ..exceptions import (
    BudgetSpent,
    QBOSyncError,
    ReconnectRequired,
    Throttled,
    TransientError,
)
from ..logs import correlation
from ..models import SUCCESS_STATUSES, Connection, SyncAttempt, SyncJob
from ..pull.apply import HANDLERS as PULL_HANDLERS
from ..pull.contacts import HANDLERS as CONTACT_PULL_HANDLERS
from ..push.documents import HANDLERS as PUSH_HANDLERS
from ..push.time_entries import HANDLERS as TIME_HANDLERS
from ..qbo.client import shared_session
from .job import Defer, Handler, JobRun, Skip, worker_id
from .outbox import (
    GONE_ACTIONS,
    dispatch_at_on_commit,
    dispatch_jobs_on_commit,
    dispatch_on_commit,
)

logger = logging.getLogger("qbo_sync.engine")

# Infrastructure failures (database, cache, broker connections) are transient: retried with
# backoff, never reported as a bug in the sync (issue 16).
_INFRA_ERRORS: tuple[type[BaseException], ...] = (DatabaseOperationalError, InterfaceError,
                                                   ConnectionError, TimeoutError)
try:
    import redis.exceptions as _redis_exceptions
except ImportError:  # redis is optional (the default stack has no Redis)
    pass
else:
    _INFRA_ERRORS += (_redis_exceptions.ConnectionError, _redis_exceptions.TimeoutError)


HANDLERS: dict[tuple[str, str], Handler] = {**PUSH_HANDLERS, **TIME_HANDLERS, **PULL_HANDLERS,
                                            **CONTACT_PULL_HANDLERS}


# Claiming ---------------------------------------------------------------------------


def _lock_rows(qs):
    # SKIP LOCKED lets several workers sweep at once on PostgreSQL; SQLite serialises
    # writers anyway (IMMEDIATE transactions).
    if db_connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True)
    return qs.select_for_update()


def claim(job_id: int) -> SyncJob | None:
    """Take the job for this worker if it is due, or abandoned by a dead worker."""
    now = timezone.now()
    lease = timedelta(seconds=int(app_settings.JOB_LEASE_SECONDS))
    with transaction.atomic():
        job = _lock_rows(SyncJob.objects.filter(pk=job_id)).first()
        if job is None:
            return None
        due = job.status == SyncJob.Status.PENDING and job.next_attempt_at <= now
        abandoned = (
            job.status == SyncJob.Status.RUNNING
            and job.claimed_until is not None
            and job.claimed_until < now
        )
        if not (due or abandoned):
            return None
        job.status = SyncJob.Status.RUNNING
        job.claimed_by = worker_id()
        job.claimed_until = now + lease
        job.attempts += 1
        job.started_at = now
        job.save(update_fields=[
            "status", "claimed_by", "claimed_until", "attempts", "started_at", "updated_at",
        ])
    return job


# Running ------------------------------------------------------------------------------


def run_job(job_id: int) -> str:
    """Claim and run one job; returns its status afterwards ("" if not claimed)."""
    job = claim(job_id)
    if job is None:
        return ""
    return execute(job)


def execute(job: SyncJob) -> str:
    """Run an already-claimed job and record the outcome."""
    step = begin(job)
    if attempt(step, lambda: resolve(step.run)(step.run)):
        succeed(step, step.value)
    return after(step)


@dataclass
class Try:
    """One try of a claimed job: its attempt row and run, and what the handler returned.
    :func:`execute` makes one in a go; ``sync/batch.py`` runs many in two steps (up to
    their create calls, then with the ``/batch`` answers)."""

    job: SyncJob
    attempt: SyncAttempt
    run: JobRun
    started: float = field(default_factory=time.monotonic)
    value: Any = None


def begin(job: SyncJob) -> Try:
    return Try(job, SyncAttempt.objects.create(job=job, number=job.attempts),
               JobRun(job=job, connection=job.connection))


def resolve(run: JobRun, table: dict[tuple[str, str], Handler] | None = None) -> Handler:
    """Fill ``run`` (host object, adapter, client) and pick the job's handler."""
    job = run.job
    if run.connection is None or not run.connection.is_connected:
        raise ReconnectRequired(
            f"Workspace {job.workspace!r} is not connected to QuickBooks."
        )
    if job.content_type_id and job.object_id:
        run.adapter = get_adapter(job.entity)
        if run.obj is None:  # unless a batch run read it with the others (sync/batch.py)
            model = job.content_type.model_class()
            run.obj = (model._default_manager.filter(pk=job.object_id).first() if model
                       else None)
        # A push of a record deleted in the app removes it from QuickBooks
        # (push/gone.py); any other job of a deleted record has nothing to do.
        if run.obj is None and not (job.direction == SyncJob.Direction.PUSH
                                    and job.action in GONE_ACTIONS):
            raise Skip("The record no longer exists in the app.")
    table = HANDLERS if table is None else table
    handler = table.get((job.direction, job.entity)) or table.get((job.direction, "*"))
    if handler is None:
        raise Skip(f"No handler for {job.direction} {job.entity}.")
    # One pooled session per worker process: jobs reuse its connections to QBO.
    run.client = run.client or client_for(run.connection, session=shared_session(),
                                          source="job")
    return handler


def attempt(step: Try, fn: Callable[[], Any]) -> bool:
    """Run ``fn`` as (part of) the job's try. True when it returned (its value is in
    ``step.value``); otherwise what it raised is recorded as the outcome, by exception
    group (exceptions.py): skipped, deferred, held back, retried or failed."""
    job, run, started = step.job, step.run, step.started
    try:
        with correlation(job.correlation_id):  # every log line of the try names the job
            step.value = fn()
    except Skip as skip:
        _finish(job, step.attempt, started, SyncJob.Status.SKIPPED, message=str(skip),
                run=run)
    except Defer as defer:
        job.attempts -= 1  # waiting on a dependency is not a failed try
        step.attempt.delete()
        job.error = {}
        job.waiting_for_id = defer.waiting_for
        try:
            with transaction.atomic():
                _finish(job, None, started, SyncJob.Status.PENDING, message=str(defer),
                        run=run, next_in=defer.seconds)
        except IntegrityError:
            # The job waited for is gone (a dependency row given up and deleted by
            # another worker): wait for nothing; the check below runs this one at once.
            job.waiting_for_id = None
            _finish(job, None, started, SyncJob.Status.PENDING, message=str(defer), run=run,
                    next_in=defer.seconds)
        # Back at its time even if nothing wakes it (what it waits for gave up, or it
        # waits for nothing in particular), not at the next sweep.
        dispatch_at_on_commit(job.pk, job.next_attempt_at)
        _wake_if_done(job, defer.waiting_for)
    except BudgetSpent as spent:
        # Held back before sending: not a failed try; due again when budget frees.
        job.attempts -= 1
        step.attempt.delete()
        job.error = {}
        # The worker goes on to other jobs (other companies'); this one comes back at
        # the exact moment the budget frees.
        _finish(job, None, started, SyncJob.Status.PENDING, message=str(spent), run=run,
                next_in=_until(spent))
        dispatch_at_on_commit(job.pk, job.next_attempt_at)
    except QBOSyncError as err:
        _fail(job, step.attempt, started, err, run)
    except _INFRA_ERRORS as exc:
        logger.warning("job %s: infrastructure error %s", job.pk, exc.__class__.__name__)
        _fail(job, step.attempt, started,
              TransientError(f"Infrastructure unavailable: {exc.__class__.__name__}: {exc}"),
              run)
    except Exception as exc:  # noqa: BLE001 - a bug must not leave the job "running"
        logger.exception("job %s crashed", job.pk)
        err = QBOSyncError(f"Unexpected error: {exc.__class__.__name__}: {exc}",
                           fix="This is a bug in the sync; the details are in the logs.")
        _fail(job, step.attempt, started, err, run, retry=False)
    else:
        return True
    return False


def succeed(step: Try, qbo_id: str | None) -> None:
    """Record the handler's success (totals that differ end it "differs")."""
    job, run = step.job, step.run
    job.qbo_id = qbo_id or job.qbo_id
    differs = bool(run.totals)
    if differs:
        job.totals = run.totals
    _finish(job, step.attempt, step.started,
            SyncJob.Status.DIFFERS if differs else SyncJob.Status.SUCCEEDED, run=run,
            message=run.totals.get("message", "") if differs else "")
    signals.sync_succeeded.send(sender=SyncJob, job=job, qbo_id=job.qbo_id)


def after(step: Try) -> str:
    """Wake what waited for a job that is done; returns its status."""
    after_all([step])
    return step.job.status


def after_all(steps: list[Try]) -> None:
    """:func:`after` for the steps of a batch run at once: one query finds what waited
    for any of them."""
    done = [step.job.pk for step in steps if step.job.status != SyncJob.Status.PENDING]
    done += [pk for step in steps for pk in step.run.finished]  # dependencies pushed
    if done:
        _wake_waiters(done)


def _wake_if_done(job: SyncJob, awaited: int | None) -> None:
    """Close the race with :func:`_wake_waiters`: if the awaited job finished between
    our check and our saving that we wait for it, nobody will wake us, so go now."""
    active = (SyncJob.Status.PENDING, SyncJob.Status.RUNNING)
    if awaited and not SyncJob.objects.filter(pk=awaited, status__in=active).exists():
        SyncJob.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
        dispatch_on_commit(job.pk)


def _wake_waiters(job_ids: list[int]) -> None:
    """Jobs that deferred themselves until one of these (of one connection) was done
    run now, not at their next sweep."""
    # An indexed column, not the JSON error field: the cost stays flat as the table grows.
    waiting = list(SyncJob.objects.filter(
        status=SyncJob.Status.PENDING, waiting_for__in=job_ids
    ).values_list("pk", "entity", "action", "direction"))
    if not waiting:
        return
    SyncJob.objects.filter(pk__in=[row[0] for row in waiting]).update(
        next_attempt_at=timezone.now())
    dispatch_jobs_on_commit(waiting)


def _fail(job: SyncJob, attempt: SyncAttempt, started: float, err: QBOSyncError,
          run: JobRun, retry: bool = True) -> None:
    policy = app_settings.RETRY
    if isinstance(err, ReconnectRequired) and not _grant_alive(job):
        status, next_in = SyncJob.Status.PARKED, None
    elif (
        retry
        and isinstance(err, (TransientError, ReconnectRequired))
        and job.attempts <= int(policy["AUTO_RETRIES"])
        and job.attempts < job.max_attempts
    ):
        status = SyncJob.Status.PENDING
        next_in = backoff(job.attempts, err)
    else:
        status, next_in = SyncJob.Status.FAILED, None
    job.error = err.as_dict()
    logger.info("job %s attempt %s failed: %s (correlation_id %s, intuit_tid %s)", job.pk,
                job.attempts, err.__class__.__name__, job.correlation_id, err.intuit_tid or "-",
                extra={"job_id": job.pk, "intuit_tid": err.intuit_tid})
    _finish(job, attempt, started, status, message=_message(err), run=run, next_in=next_in,
            tid=err.intuit_tid)
    if status == SyncJob.Status.FAILED:
        signals.sync_failed.send(sender=SyncJob, job=job, error=err)
    if status == SyncJob.Status.PARKED and job.connection is not None:
        signals.connection_needs_reconnect.send(
            sender=Connection, connection=job.connection, reason=str(err)
        )


def _grant_alive(job: SyncJob) -> bool:
    """Whether the connection still holds a working grant. A refused token on a
    connection that is still connected (another worker's refresh rotated it, or it
    expired between the refresh and the resend) is retried, not parked: parked jobs wait
    for a reconnect nobody needs (issue 16). A lost grant marks the connection first."""
    return job.connection_id is not None and Connection.objects.filter(
        pk=job.connection_id, status=Connection.Status.CONNECTED).exists()


def backoff(attempts: int, err: QBOSyncError | None = None) -> float:
    """Seconds before the next automatic try: BASE_DELAY × 2^(n-1) with ±10 % jitter.
    A 429 waits as long as QBO's Retry-After says, else at least 60 s (docs/qbo-rules.md §3)."""
    base = float(app_settings.RETRY["BASE_DELAY"])
    delay = base * (2 ** max(attempts - 1, 0))
    if isinstance(err, Throttled):
        if err.retry_after is not None:  # QBO said how long: never sooner
            return err.retry_after * random.uniform(1.0, 1.1)
        delay = max(delay, 60.0)
    return delay * random.uniform(0.9, 1.1)


def _until(spent: BudgetSpent) -> float:
    """Seconds from now to the moment the budget frees."""
    if spent.retry_at is None:
        return spent.retry_after
    return max(spent.retry_at - time.time(), 0.0)


def _message(err: QBOSyncError) -> str:
    text = str(err)
    # Preflight messages already end with their fix ("what: fix"); say it once.
    return f"{text} — {err.fix}" if err.fix and err.fix not in text else text


def _finish(job: SyncJob, attempt: SyncAttempt | None, started: float, status: str, *,
            message: str = "", run: JobRun | None = None, next_in: float | None = None,
            tid: str = "") -> None:
    now = timezone.now()
    elapsed = int((time.monotonic() - started) * 1000)
    notes = run.notes if run else []
    job.status = status
    job.error_message = "\n".join([*notes, message] if message else notes)
    if status in (*SUCCESS_STATUSES, SyncJob.Status.SKIPPED):
        job.error = {}
    if status != SyncJob.Status.DIFFERS:
        job.totals = {}
    job.finished_at = now
    job.duration_ms = elapsed
    job.claimed_until = None
    if next_in is not None:
        job.next_attempt_at = now + timedelta(seconds=next_in)
    job.save()
    if attempt is not None:
        attempt.finished_at = now
        attempt.ok = status in (*SUCCESS_STATUSES, SyncJob.Status.SKIPPED)
        attempt.error = job.error if not attempt.ok else {}
        attempt.intuit_tid = tid
        attempt.duration_ms = elapsed
        attempt.save()
