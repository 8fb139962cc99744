"""Historical (manual) sync: queue pushes of a workspace's existing contacts or invoices.

A run walks the host objects through the adapter, keeps the workspace's, skips drafts
(``should_sync``) and objects already linked to QBO, and writes one outbox job per
object, in bulk (:func:`qbo_sync.sync.outbox.enqueue_many`); the engine then pushes them, resolving
dependencies (a customer before its invoices) by itself. Progress is saved on the
:class:`~qbo_sync.models.HistoricalRun` every :data:`PROGRESS_EVERY` objects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date

from ..adapters import get_adapter
from ..exceptions import ConfigurationError, HistoryBusy
from ..models import Connection, EntityLink, HistoricalRun, JobTrigger
from .outbox import enqueue, enqueue_many
from .queue import queue_task

logger = logging.getLogger("qbo_sync.history")

KINDS = ("contact", "invoice")
PROGRESS_EVERY = 50
#: Objects whose jobs are written together (one query and one bulk insert).
BATCH = 500
#: A queued run older than this is taken to be lost (broker down) and blocks nothing.
STALE_AFTER = timedelta(hours=1)

Progress = Callable[[HistoricalRun], None]


def normalize_kind(kind: str) -> str:
    """``"contacts"`` / ``"contact"`` → ``"contact"``; raises ConfigurationError."""
    value = (kind or "").strip().lower()
    value = value[:-1] if value.endswith("s") else value
    if value not in KINDS:
        raise ConfigurationError(f"Unknown historical sync kind {kind!r}.", element="kind",
                                 fix="Use 'contacts' or 'invoices'.")
    return value


def start_historical(connection: Connection, *, kind: str, since: date | None = None,
                     dry_run: bool = False, user: Any = None) -> HistoricalRun:
    """Create a run. A real run is queued to a worker once the transaction commits; a
    dry run only counts, so it runs at once and comes back finished."""
    kind = normalize_kind(kind)
    busy = HistoricalRun.objects.filter(
        connection=connection, kind=kind, dry_run=False,
        status__in=[HistoricalRun.Status.QUEUED, HistoricalRun.Status.RUNNING],
        created_at__gte=timezone.now() - STALE_AFTER,
    ).first()
    if busy is not None and not dry_run:
        raise HistoryBusy(
            f"A {kind} sync is already {busy.status} (run {busy.pk}).", element="kind",
            fix="Wait for it to finish; its progress is shown under Sync runs.")
    run = HistoricalRun.objects.create(
        connection=connection, kind=kind, since=since, dry_run=dry_run,
        user=user if getattr(user, "is_authenticated", False) else None,
    )
    if dry_run:
        run_history(run)
    else:
        transaction.on_commit(lambda: _dispatch(run))
    return run


def _dispatch(run: HistoricalRun) -> None:
    queued = queue_task(
        "qbo_sync.tasks.historical_sync", run.connection.workspace, run.kind,
        run.since.isoformat() if run.since else None, progress_key=str(run.pk),
        name=f"qbo_sync historical {run.kind} sync {run.pk}",
    )
    if not queued:
        # Nothing sweeps historical runs, so say so on the run instead of leaving it
        # "queued" for ever.
        run.status = HistoricalRun.Status.FAILED
        run.error = ("The background queue refused the task. Fix: check that the "
                     "django-q2 broker is reachable, then start the sync again.")
        run.finished_at = timezone.now()
        _save(run, "status", "error", "finished_at")


def sync_history(workspace: str, kind: str, since: str | date | None = None,
                 progress_key: str | None = None) -> dict[str, Any]:
    """Task body: run the HistoricalRun whose id is ``progress_key``, or a new one."""
    if progress_key:
        run = HistoricalRun.objects.select_related("connection").get(pk=int(progress_key))
    else:
        connection = Connection.objects.filter(workspace=workspace).first()
        if connection is None:
            raise ConfigurationError(f"Workspace {workspace!r} has no QuickBooks connection.",
                                     fix="Connect QuickBooks first: Settings → QuickBooks.")
        day = parse_date(since) if isinstance(since, str) else since
        run = HistoricalRun.objects.create(connection=connection, kind=normalize_kind(kind),
                                           since=day)
    run_history(run)
    return {"run": run.pk, "status": run.status, "total": run.total, "done": run.done,
            "queued": run.queued, "skipped": run.skipped, "error": run.error}


def _candidates(run: HistoricalRun, adapter: Any) -> list[Any]:
    """Primary keys of the workspace's objects in push order. Invoices go oldest first: QBO asks for
    history to be created chronologically so A/R and auto-apply behave (docs/qbo-rules.md §5.2)."""
    workspace = run.connection.workspace
    rows = []
    for obj in adapter.objects_for(workspace).order_by("pk").iterator(chunk_size=500):
        if adapter.workspace_of(obj) != workspace:
            continue
        day = adapter.issue_date_of(obj) if run.kind == "invoice" else None
        if run.since and run.kind == "invoice" and (day is None or day < run.since):
            continue
        rows.append((day or date.min, obj.pk))
    rows.sort()
    return [pk for _, pk in rows]


def _iter_objects(adapter: Any, workspace: str, pks: list[Any], chunk: int = 500) -> Any:
    """The objects for ``pks`` in that order, loaded a chunk at a time with what the
    adapter prefetches (an invoice's payments, queued after it, among them)."""
    for start in range(0, len(pks), chunk):
        part = pks[start:start + chunk]
        found = adapter.objects_by_key(workspace, part)
        yield from (found[str(pk)] for pk in part if str(pk) in found)


def _linked_ids(run: HistoricalRun, model: Any) -> set[str]:
    ct = ContentType.objects.get_for_model(model)
    return set(EntityLink.objects.filter(connection=run.connection, content_type=ct)
               .exclude(qbo_id="").values_list("object_id", flat=True))


def _wanted(kind: str, adapter: Any, obj: Any) -> bool:
    # A voided invoice that never reached QBO has nothing to void there.
    return adapter.should_sync(obj) and not (kind == "invoice" and adapter.status_of(obj) == "void")


def _enqueue_payments(run: HistoricalRun, adapter: Any, invoice: Any) -> None:
    """History of an invoice includes the payments the host recorded for it; the
    engine pushes each once its invoice is in QBO."""
    if run.kind != "invoice":
        return
    payment_adapter = get_adapter("payment")
    if payment_adapter is None:
        return
    for payment in adapter.payments_of(invoice):
        if payment_adapter.should_sync(payment):
            enqueue("payment", payment, connection=run.connection,
                    trigger=JobTrigger.HISTORY, user=run.user)


def _flush(run: HistoricalRun, adapter: Any, batch: list[Any]) -> None:
    """Write the jobs for ``batch`` in one go (then each invoice's payments); the
    dispatch follows the commit."""
    if not batch:
        return
    with transaction.atomic():
        run.queued += enqueue_many(run.kind, batch, connection=run.connection,
                                   trigger=JobTrigger.HISTORY, user=run.user)
        for obj in batch:
            _enqueue_payments(run, adapter, obj)
    batch.clear()


def _save(run: HistoricalRun, *fields: str) -> None:
    HistoricalRun.objects.filter(pk=run.pk).update(**{f: getattr(run, f) for f in fields})


def run_history(run: HistoricalRun, progress: Progress | None = None) -> HistoricalRun:
    """Walk the objects and queue a push for each (a dry run writes no job). Updates
    ``total``/``done``/``queued``/``skipped`` as it goes; ends ``done`` or ``failed``."""
    run.status, run.error = HistoricalRun.Status.RUNNING, ""
    run.total = run.done = run.queued = run.skipped = 0
    _save(run, "status", "error", "total", "done", "queued", "skipped")
    try:
        adapter = get_adapter(run.kind)
        if adapter is None:
            raise ConfigurationError(f"No adapter is configured for {run.kind}s.",
                                     fix=f"Add '{run.kind}' to QBO_SYNC['ADAPTERS'].")
        pks = _candidates(run, adapter)
        linked = _linked_ids(run, adapter.get_model())
        run.total = len(pks)
        _save(run, "total")
        if progress:
            progress(run)
        batch: list[Any] = []
        for obj in _iter_objects(adapter, run.connection.workspace, pks):
            if str(obj.pk) in linked or not _wanted(run.kind, adapter, obj):
                run.skipped += 1
            elif run.dry_run:
                run.queued += 1
            else:
                batch.append(obj)
            run.done += 1
            if len(batch) >= BATCH:
                _flush(run, adapter, batch)
            if run.done % PROGRESS_EVERY == 0:
                _save(run, "done", "queued", "skipped")
                if progress:
                    progress(run)
        _flush(run, adapter, batch)
        run.status = HistoricalRun.Status.DONE
    except Exception as exc:  # noqa: BLE001 - recorded on the run, shown to the user
        logger.exception("historical %s sync %s failed", run.kind, run.pk)
        run.status = HistoricalRun.Status.FAILED
        fix = getattr(exc, "fix", "")
        run.error = f"{getattr(exc, 'message', '') or exc}" + (f" Fix: {fix}" if fix else "")
    run.finished_at = timezone.now()
    _save(run, "status", "error", "total", "done", "queued", "skipped", "finished_at")
    if progress:
        progress(run)
    return run
