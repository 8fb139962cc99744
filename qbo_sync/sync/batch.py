"""Batch writes: the due push jobs of one connection, claimed together, send their
creates as QBO ``/batch`` calls of up to 30 items (docs/qbo-rules.md §3, §10).

A worker that claims a job also claims, under the same row locks, up to
``BATCH_SIZE - 1`` other push jobs of that connection that are due now: nothing waits for
a batch to fill, so a job alone goes out at once as a single call, as it always has.
The jobs run in dependency order of their kinds (customers, then invoices, credit memos
and refunds, then payments), one kind at a time: each handler runs up to its create
call (``push.write.Planned``), the creates of the kind go as ``/batch`` calls, and each
item's answer (the record, or its ``Fault`` as the exception it maps to) finishes its
own job through the same handler code and the same engine bookkeeping as a single call's
would. A payment is planned only once its invoice's answer is applied, so no item
waits on another item's id in the same call.

Exactly once: every item has a deterministic ``bId`` (job and attempt), and the call a
``requestid`` made of them. A batch that fails with no answer (timeout, 5xx, connection
reset) leaves every item's outcome unknown, exactly as a single create that failed so:
its create mark stays and its retry looks in QuickBooks before it creates again.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from functools import partial
from itertools import groupby

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..adapters import get_adapter
from ..conf import app_settings
from ..exceptions import ServerError
from ..models import Connection, SyncJob
from ..push.documents import PLANNERS
from ..push.write import Planned
from ..qbo.client import MAX_BATCH_ITEMS, MAX_BATCH_REQUEST_ID
from ..qbo.faults import ci_get
from ..qbo.wire import request_id
from . import engine, links
from .job import worker_id
from .outbox import ALONE, BATCH_ORDER, batchable


def run_job(job_id: int, drain: bool = False) -> str:
    """Claim the job, and with it the connection's other due pushes; run them together
    (or the job alone, at once, when nothing else is due). Returns its status.

    ``drain``: the task stands for up to ``BATCH_SIZE`` jobs (``outbox.dispatch_many``);
    if its job was already taken with another's batch, it runs the next due pushes of
    the job's connection instead, and returns ""."""
    job = engine.claim(job_id)
    if job is None:
        if drain:
            _run_next(job_id)
        return ""
    others = claim_companions(job)
    if not others:
        return engine.execute(job)
    return run_together([job, *others])[job.pk]


def _run_next(job_id: int) -> None:
    connection_id = (SyncJob.objects.filter(pk=job_id)
                     .values_list("connection_id", flat=True).first())
    if connection_id is None:
        return
    jobs = _claim_due(connection_id, int(app_settings.BATCH_SIZE))
    if len(jobs) == 1:
        engine.execute(jobs[0])
    elif jobs:
        run_together(jobs)


def _batchable(job: SyncJob) -> bool:
    return job.connection_id is not None and batchable(job.entity, job.action,
                                                       job.direction)


def claim_companions(job: SyncJob) -> list[SyncJob]:
    """Claim due push jobs of ``job``'s connection to run with it (one per record)."""
    size = int(app_settings.BATCH_SIZE)
    if size <= 1 or not _batchable(job):
        return []
    claimed = _claim_due(job.connection_id, size - 1, besides=job)
    for other in claimed:
        other.connection = job.connection  # one connection object: tokens refresh once
    return claimed


def _claim_due(connection_id: int, limit: int, besides: SyncJob | None = None,
               ) -> list[SyncJob]:
    """Claim up to ``limit`` due batchable pushes of the connection, oldest first and
    one per record (none of ``besides``'s record)."""
    now = timezone.now()
    due = (SyncJob.objects.filter(
        connection_id=connection_id, direction=SyncJob.Direction.PUSH,
        status=SyncJob.Status.PENDING, next_attempt_at__lte=now, entity__in=list(BATCH_ORDER),
    ).exclude(action__in=ALONE).order_by("next_attempt_at", "pk"))
    seen = set()
    if besides is not None:
        due = due.exclude(pk=besides.pk)
        seen.add((besides.content_type_id, besides.object_id))
    picked: list[int] = []
    with transaction.atomic():
        rows = engine._lock_rows(due).values_list("pk", "content_type_id", "object_id")
        for pk, ct, object_id in rows[: limit * 2]:
            if (ct, object_id) not in seen and len(picked) < limit:
                seen.add((ct, object_id))
                picked.append(pk)
        if not picked:
            return []
        SyncJob.objects.filter(pk__in=picked, status=SyncJob.Status.PENDING).update(
            status=SyncJob.Status.RUNNING, claimed_by=worker_id(),
            claimed_until=now + timedelta(seconds=int(app_settings.JOB_LEASE_SECONDS)),
            attempts=F("attempts") + 1, started_at=now, updated_at=now,
        )
    claimed = list(SyncJob.objects.filter(pk__in=picked, status=SyncJob.Status.RUNNING,
                                          started_at=now)
                   .select_related("content_type").order_by("next_attempt_at", "pk"))
    if besides is None and claimed:
        # One connection object for the run: its tokens refresh once.
        connection = Connection.objects.get(pk=connection_id)
        for other in claimed:
            other.connection = connection
    return claimed


def run_together(jobs: list[SyncJob]) -> dict[int, str]:
    """Run claimed push jobs of one connection, batching their creates kind by kind.
    Returns each job's status afterwards."""
    steps = sorted((engine.begin(job) for job in jobs),
                   key=lambda step: (BATCH_ORDER[step.job.entity], step.job.pk))
    shared: dict[str, object] = {}
    for _, kinds in groupby(steps, key=lambda step: BATCH_ORDER[step.job.entity]):
        group = list(kinds)
        with ExitStack() as stack:
            # Read after the kinds before it were written; their links once, too.
            for model, ids in _read_records(group):
                stack.enter_context(links.remembered(group[0].job.connection, model, ids))
            planned = [step for step in group if _plan(step, shared)]
            for step, answer in _send(planned):
                _finish(step, answer)
            engine.after_all(group)
    return {step.job.pk: step.job.status for step in steps}


def _read_records(steps: list[engine.Try]) -> list[tuple[type, list[str]]]:
    """The host records of the run, one query per kind (and its prefetches) instead of
    one per job and relation; returns each kind's model and keys. A record not found
    here is looked up by its own job, which skips it if it is gone."""
    read = []
    for kind, group in groupby(sorted(steps, key=lambda s: s.job.entity),
                               key=lambda s: s.job.entity):
        group = [step for step in group if step.job.object_id]
        adapter = get_adapter(kind)
        if adapter is None or not group:
            continue
        model = adapter.get_model()
        keys = [step.job.object_id for step in group]
        found = adapter.objects_by_key(group[0].job.workspace, keys)
        for step in group:
            if step.job.content_type.model_class() is model:
                step.run.obj = found.get(step.job.object_id)
        read.append((model, keys))
        # The customers these documents need: their links are read with the others.
        contacts = get_adapter("contact")
        if hasattr(adapter, "contact_of") and contacts is not None:
            of = [adapter.contact_of(obj) for obj in found.values()]
            read.append((contacts.get_model(), [c.pk for c in of if c is not None]))
    return read


def _plan(step: engine.Try, shared: dict[str, object]) -> bool:
    """Run the job's handler up to its create call; True if that call is to be sent.
    A job that needs no create (an update, a skip, a failure) ends here (what waited
    for it is woken with the rest of its kind, ``engine.after_all``)."""
    run = step.run
    # One run: the mapping context and the client are the connection's, built once.
    run.mapping_context = shared.get("context")
    run.client = shared.get("client")
    ok = engine.attempt(step, lambda: engine.resolve(run, PLANNERS)(run))
    shared["context"] = shared.get("context") or run.mapping_context
    shared["client"] = shared.get("client") or run.client
    if not ok:
        return False
    if isinstance(step.value, Planned):
        if step.value.call.found is None:
            return True
        _finish(step, step.value.call.send)  # the look-before-create found it
        return False
    engine.succeed(step, step.value)
    return False


def _finish(step: engine.Try, answer: Callable[[], dict]) -> None:
    plan = step.value
    if engine.attempt(step, lambda: plan.finish(answer)):
        engine.succeed(step, step.value)


def bid(job: SyncJob) -> str:
    """The item's ``bId``: job and attempt, at most 10 characters (§2.4)."""
    return f"{_base36(job.pk)}-{job.attempts}"[:10]


def _send(planned: list[engine.Try]) -> list[tuple[engine.Try, Callable[[], dict]]]:
    """Each planned step with its answer. A lone create goes as a single call."""
    if len(planned) == 1:
        return [(planned[0], planned[0].value.call.send)]
    out: list[tuple[engine.Try, Callable[[], dict]]] = []
    for start in range(0, len(planned), MAX_BATCH_ITEMS):
        chunk = planned[start:start + MAX_BATCH_ITEMS]
        out.extend(zip(chunk, _call(chunk), strict=True))
    return out


def _call(chunk: list[engine.Try]) -> list[Callable[[], dict]]:
    """One ``/batch`` call; per item, the function that applies its answer."""
    calls = [step.value.call for step in chunk]
    bids = [bid(step.job) for step in chunk]
    items = [call.batch_item(b) for call, b in zip(calls, bids, strict=True)]
    client = chunk[0].run.client
    rid = request_id(client.realm_id, "batch", *bids)[:MAX_BATCH_REQUEST_ID]
    try:
        results = client.batch(items, request_id=rid)
    except Exception as exc:  # noqa: BLE001 - no item has an answer: each gets the error
        return [partial(call.answer, error=exc) for call in calls]
    answers = []
    for call, result in zip(calls, results, strict=True):
        error, obj = result.get("error"), ci_get(result, call.entity)
        if error is None and not isinstance(obj, dict):
            error = ServerError(f"QuickBooks answered batch item {result.get('bId')} "
                                f"without the {call.entity}.", status_code=200)
        answers.append(partial(call.answer, obj, error))
    return answers


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
