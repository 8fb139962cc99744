"""Write primitives the push handlers share: create exactly once, guarded full
updates of transactions, and the bookkeeping Sync Health shows.

Creates carry a deterministic ``requestid`` and, after an ambiguous failure, look in
QBO before creating again (docs/architecture.md, invariant 2; docs/qbo-rules.md §2.4).
Updates send the SyncToken of the last write; when QBO answers 5010 they re-read the
record and refuse to overwrite an accountant's edit of a field we own (invariant 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from .. import mapping
from ..exceptions import (
    DuplicateRequestError,
    NetworkError,
    QBOSyncError,
    ServerError,
    StaleObjectError,
)
from ..models import EntityLink, LinkStatus, SyncJob
from ..qbo.records import is_paid
from ..qbo.wire import request_id
from ..sync import links
from ..sync.job import Defer, JobRun, Skip, worker_id
from .conflicts import differences
from .context import record

CONFLICT_FIX = ("Decide which version is right: make the same change in the app and "
                "retry, or undo the change in QuickBooks and retry.")


def conflict(entity: str, diff: list[str]) -> StaleObjectError:
    return StaleObjectError(
        f"The {entity} was changed in QuickBooks since the app last wrote it: "
        + "; ".join(diff), code="5010", fix=CONFLICT_FIX,
    )


# Creating exactly once ------------------------------------------------------------------


def create_once(run: JobRun, link: EntityLink, entity: str, payload: dict,
                probe: Callable[[], dict | None]) -> dict:
    """Create ``payload`` in QBO unless an earlier interrupted attempt already did."""
    return begin_create(run, link, entity, payload, probe).send()


@dataclass
class CreateCall:
    """A create prepared by :func:`begin_create`: sent alone (:meth:`send`) or as one
    item of a ``/batch`` call (``sync/batch.py``); either way :meth:`answer` applies the
    outcome, so a batch item ends exactly as a single create does."""

    run: JobRun
    link: EntityLink
    entity: str
    payload: dict
    probe: Callable[[], dict | None]
    ambiguous_before: bool
    request_id: str
    #: What the look-before-create found: nothing is sent then.
    found: dict | None = None

    def send(self) -> dict:
        if self.found is not None:
            return self.found
        try:
            obj = self.run.client.create(self.entity, self.payload,
                                         request_id=self.request_id)
        except Exception as exc:  # noqa: BLE001 - answer() re-raises it
            return self.answer(error=exc)
        return self.answer(obj)

    def batch_item(self, bid: str) -> dict:
        """This create as a ``BatchItemRequest`` item (docs/qbo-rules.md §10)."""
        return {"bId": bid, "operation": "create", self.entity: self.payload}

    def answer(self, obj: dict | None = None, error: BaseException | None = None) -> dict:
        """QBO's record, or the call's error handled as an interrupted create must be:
        the create mark is kept for an outcome that is unknown, so the next try looks
        first (docs/qbo-rules.md §2.4)."""
        if error is None:
            return obj or {}
        link = self.link
        if isinstance(error, DuplicateRequestError):
            # 600: QBO did this write before (docs/qbo-rules.md §2.4). Find it.
            found = self.probe()
            if found:
                return found
            _release(link, ambiguous=self.ambiguous_before)
        elif isinstance(error, (NetworkError, ServerError)):
            _release(link, ambiguous=True)
        elif isinstance(error, QBOSyncError):
            # A clean failure of this try (a 4xx, our budget holding the call back) does
            # not settle an earlier try's unknown outcome: the next one must still look.
            _release(link, ambiguous=self.ambiguous_before)
        else:
            # Anything else (the cache or the database failing around the call) may have
            # happened after QuickBooks wrote the record: the next try looks first.
            _release(link, ambiguous=True)
        raise error


def begin_create(run: JobRun, link: EntityLink, entity: str, payload: dict,
                 probe: Callable[[], dict | None]) -> CreateCall:
    """Everything of an exactly-once create before its call: take the create mark,
    derive the ``requestid``, and after an ambiguous earlier try look in QBO first."""
    ambiguous_before = links.was_ambiguous(link)
    if not links.start_create(link):
        raise Defer(f"Another worker is creating this {entity} in QuickBooks right now.",
                    waiting_for=_creator(run, link))
    # A record deleted in QuickBooks and created again (a reconciliation repair) needs a
    # new id: QBO would replay the first create's answer for the old one (§2.4).
    again = (link.generation,) if link.generation else ()
    rid = request_id(run.connection.realm_id, "create", link.content_type_id,
                     link.object_id, link.variant, *again)
    run.job.request_id = rid
    call = CreateCall(run, link, entity, payload, probe, ambiguous_before, rid)
    if ambiguous_before:
        try:
            found = probe()
        except Exception:
            _release(link, ambiguous=True)
            raise
        if found:
            run.note(f"An earlier attempt had already created {entity} {found['Id']} "
                     "in QuickBooks; linked it instead of creating another.")
            call.found = found
    return call


def _creator(run: JobRun, link: EntityLink) -> int | None:
    """The running job of the record being created, so this one is woken when it ends.
    Not one of this worker's: a worker runs one run at a time, so its own running rows
    (the job, the Sync Health row of a dependency it pushes) are this run's."""
    return SyncJob.objects.filter(
        content_type_id=link.content_type_id, object_id=link.object_id,
        status=SyncJob.Status.RUNNING,
    ).exclude(pk=run.job.pk).exclude(claimed_by=worker_id()).order_by("pk").values_list(
        "pk", flat=True).first()


@dataclass
class Planned:
    """A push handler run up to its create call: the call, and the rest of the handler,
    which gets the call's outcome as a function returning QBO's record (or raising)."""

    call: CreateCall
    finish: Callable[[Callable[[], dict]], str | None]

    def then(self, after: Callable[[str | None], str | None]) -> Planned:
        """This plan with ``after`` run on the QBO id it ends with."""
        return Planned(self.call, lambda answer: after(self.finish(answer)))

    def now(self) -> str | None:
        """Send the create alone and finish."""
        return self.finish(self.call.send)


def perform(step: str | None | Planned) -> str | None:
    """What a handler returns, from what its plan returned."""
    return step.now() if isinstance(step, Planned) else step


def _release(link: EntityLink, *, ambiguous: bool) -> None:
    """Drop this worker's create mark. An ambiguous outcome keeps "creating" (so the
    next try looks first) but ages the mark so the retry may take it at once."""
    # The object says what the row now says: a batch run reads it again from memory.
    if ambiguous:
        link.updated_at = timezone.now() - timedelta(days=1)
        EntityLink.objects.filter(pk=link.pk).update(updated_at=link.updated_at)
    elif EntityLink.objects.filter(pk=link.pk, qbo_id="").update(qbo_status=LinkStatus.NEW):
        link.qbo_status = LinkStatus.NEW


def settle_found(run: JobRun, link: EntityLink, entity: str, payload: dict,
                 obj: dict, update: Callable[[], str]) -> bool:
    """After a create, make the link say what QuickBooks holds (issue 16, defect 2).

    A probe or a ``requestid`` replay returns the record an earlier attempt made, which
    may hold older data than ``payload`` (the host edited it while the outcome was
    unknown). Then the link stores QBO's record, not our hopes, and ``update`` sends
    the difference in the same job. Returns whether an update was needed."""
    diff = differences(links.stored_payload(payload), obj, customer=entity == "Customer")
    if not diff:
        return False
    links.record_found(link, obj, payload)
    run.note(f"QuickBooks held an older version of the {entity} from an earlier attempt ("
             + "; ".join(diff) + "); sent the app's current data as an update.")
    update()
    return True


def find_by_marker(run: JobRun, entity: str, where: str, mark: str) -> dict | None:
    for row in run.client.query_all(entity, where=where):
        if mark in (row.get("PrivateNote") or ""):
            return row
    return None


# Updating transactions ---------------------------------------------------------------------


def update_transaction(run: JobRun, link: EntityLink, entity: str, payload: dict, *,
                       paid_guard: bool = False) -> str:
    """Full update (the whole Line set, docs/qbo-rules.md §5) with the SyncToken of our
    last write, so an unchanged record costs no read. QBO answers 5010 when anyone
    saved it since (§4.2): only then is it read, checked for an accountant's edit of a
    field we own (or a payment, for invoices) and retried once."""
    if link.content_hash == mapping.content_hash(payload):
        raise Skip("No change since the last sync.")
    # Without a stored token (links from before tokens were kept) read it first.
    current = None if link.sync_token else run.client.read(entity, link.qbo_id)
    for attempt in (1, 2):
        if current is not None:
            if paid_guard and is_paid(current):
                link.qbo_status = LinkStatus.PAID
                link.save(update_fields=["qbo_status", "updated_at"])
                raise Skip("Already paid in QuickBooks; the paid invoice is not overwritten.")
            diff = differences(link.last_payload, current)
            if diff:
                raise conflict(entity, diff)
        token = str(current["SyncToken"]) if current is not None else link.sync_token
        body = {**payload, "Id": link.qbo_id, "SyncToken": token}
        number = current.get("DocNumber") if current is not None else link.doc_number
        if "DocNumber" not in body and number:
            # "QuickBooks numbers" strategy: a full update clears what it omits
            # (docs/qbo-rules.md §5), so keep the number QBO gave the record.
            body["DocNumber"] = number
        try:
            obj = run.client.update(entity, body, sparse=False, request_id=request_id(
                run.connection.realm_id, "update", entity, link.qbo_id, token,
                mapping.content_hash(payload)))
            break
        except StaleObjectError:
            if attempt == 2:
                raise
            current = run.client.read(entity, link.qbo_id)
            if is_our_write(payload, current):
                # Our previous attempt's answer was lost: QBO holds what we send now
                # (issue 16, defect 7), so this is no accountant's edit.
                obj = current
                run.note(f"QuickBooks already held this version of the {entity} (an "
                         "earlier attempt's answer was lost); recorded it.")
                break
            run.note(f"QuickBooks had a newer version of the {entity}; re-read it and "
                     "retried once.")
    links.record_write(link, obj, payload)
    record(run, body, obj)
    return link.qbo_id


def is_our_write(payload: dict, current: dict, *, customer: bool = False) -> bool:
    """Whether QBO's record already equals ``payload`` in every field we own."""
    return not differences(links.stored_payload(payload), current, customer=customer)


def reread_or_conflict(run: JobRun, link: EntityLink, entity: str, *,
                       customer: bool = False,
                       current: dict[str, Any] | None = None) -> dict[str, Any]:
    """After 5010: re-read (unless ``current`` is that read); if only fields we don't
    own changed, take the new SyncToken; otherwise stop with what differs."""
    if current is None:
        current = run.client.read(entity, link.qbo_id)
    diff = differences(link.last_payload, current, customer=customer)
    if diff:
        raise conflict(entity, diff)
    link.sync_token = str(current.get("SyncToken", link.sync_token))
    link.save(update_fields=["sync_token", "updated_at"])
    run.note(f"QuickBooks had a newer version of the {entity} (no conflicting fields); "
             "retried with it.")
    return current
