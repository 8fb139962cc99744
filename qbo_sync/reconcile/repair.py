"""Repairs a person picks for a difference, each carried by a :class:`SyncJob` so it
shows in Sync Health with who asked for it (docs/reconciliation.md, "Repairs").

- ``push``: send the app's version again (it wins over an edit in QuickBooks);
- ``accept``: take QuickBooks' version into the app (a pull job: mark paid, record the
  payment, or the invoice adapter's ``accept_quickbooks`` hook);
- ``link``: link the app invoice to the QuickBooks invoice under its number;
- ``void``: void the QuickBooks invoice the app has voided;
- ``ignore``: with a reason, remembered so the same difference is not reported again.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ..adapters import InvoiceAdapter, get_adapter
from ..exceptions import RepairNotPossible
from ..models import (
    Difference,
    DifferenceKind,
    EntityLink,
    IgnoredDifference,
    JobAction,
    JobTrigger,
    LinkStatus,
    ReconciliationRun,
    SyncJob,
)
from ..sync import links, outbox
from ..sync.outbox import dispatch_on_commit
from .compare import ACCEPT, IGNORE, LINK, PUSH, VOID

#: "accept" runs as these pull jobs; any other kind needs the adapter's hook.
PULL_ACCEPTS = {DifferenceKind.PAID_IN_QBO: JobAction.PULL_INVOICE_PAID,
                DifferenceKind.PAYMENT_NOT_IN_APP: JobAction.PULL_PAYMENT}


def can_accept(kind: str, adapter: Any) -> bool:
    """Whether the host can take QuickBooks' version for this kind of difference."""
    if kind in PULL_ACCEPTS:
        return True
    hook = getattr(type(adapter), "accept_quickbooks", None)
    return hook is not None and hook is not InvoiceAdapter.accept_quickbooks


def repair(diff: Difference, action: str, *, user: Any = None, reason: str = "") -> list[SyncJob]:
    """Apply ``action`` (one of ``diff.repairs``); returns the jobs it queued."""
    if diff.state != Difference.State.OPEN:
        raise RepairNotPossible(f"This difference is already {diff.get_state_display().lower()}.")
    if action not in (diff.repairs or []):
        offered = ", ".join(diff.repairs or []) or "none"
        raise RepairNotPossible(f"{action!r} does not fit this difference (offered: {offered}).")
    if action == IGNORE:
        ignore(diff, user=user, reason=reason)
        return []
    with transaction.atomic():
        jobs = _REPAIRS[action](diff)
        ids = [job.pk for job in jobs]
        SyncJob.objects.filter(pk__in=ids).update(requested_by=user)
        diff.state, diff.resolved_by, diff.resolved_at = (Difference.State.REPAIRING, user,
                                                          timezone.now())
        names = {PUSH: "pushed the app's version again", ACCEPT: "took QuickBooks' version",
                 LINK: "linked to the QuickBooks invoice", VOID: "voided it in QuickBooks"}
        diff.resolution = f"{names[action]} (job {', '.join(map(str, ids)) or 'none'})"
        diff.save(update_fields=["state", "resolved_by", "resolved_at", "resolution"])
        diff.jobs.add(*jobs)
    return jobs


def ignore(diff: Difference, *, user: Any = None, reason: str = "") -> None:
    reason = (reason or "").strip()
    if not reason:
        raise RepairNotPossible("Say why the difference is ignored.", element="reason",
                                fix="Give a reason; it is kept with the ignore.")
    if "\x00" in reason:  # no database text column can hold it (PostgreSQL refuses)
        raise RepairNotPossible("The reason contains a NUL character.", element="reason",
                                fix="Remove it and give the reason again.")
    IgnoredDifference.objects.get_or_create(
        connection=diff.connection, fingerprint=diff.fingerprint,
        defaults={"kind": diff.kind, "label": diff.label, "reason": reason, "user": user})
    diff.state, diff.resolved_by, diff.resolved_at = (Difference.State.IGNORED, user,
                                                      timezone.now())
    diff.resolution = f"ignored: {reason}"
    diff.save(update_fields=["state", "resolved_by", "resolved_at", "resolution"])


def repair_safe(run: ReconciliationRun, *, user: Any = None) -> int:
    """Queue the safe repair of every open difference of ``run``; returns how many."""
    done = 0
    for diff in run.differences.filter(state=Difference.State.OPEN).exclude(safe_repair=""):
        try:
            repair(diff, diff.safe_repair, user=user)
        except RepairNotPossible as exc:
            diff.resolution = f"safe repair not applied: {exc}"
            diff.save(update_fields=["resolution"])
            continue
        done += 1
    return done


# The actions ---------------------------------------------------------------------------


def _obj(diff: Difference) -> Any:
    model = diff.content_type.model_class() if diff.content_type else None
    obj = model._default_manager.filter(pk=diff.object_id).first() if model else None
    if obj is None:
        raise RepairNotPossible(f"The app's {diff.entity} {diff.object_id} no longer exists.")
    return obj


def _link(diff: Difference) -> EntityLink | None:
    return EntityLink.objects.filter(connection=diff.connection, content_type=diff.content_type,
                                     object_id=diff.object_id, variant="").exclude(
        qbo_id="").first()


def _enqueue(kind: str, obj: Any, diff: Difference, action: str | None = None) -> list[SyncJob]:
    job = outbox.enqueue(kind, obj, action=action, connection=diff.connection,
                         trigger=JobTrigger.REPAIR)
    if job is None:
        raise RepairNotPossible("The workspace is not connected to QuickBooks.",
                                fix="Reconnect it, then repair again.")
    return [job]


def _push(diff: Difference) -> list[SyncJob]:
    obj, link = _obj(diff), _link(diff)
    if diff.kind == DifferenceKind.PAID_IN_APP:
        # Paid in the app without a payment for all of it: push the payment for the rest.
        return _enqueue("invoice", obj, diff, action=JobAction.SETTLE)
    if link is not None:
        if diff.kind == DifferenceKind.MISSING:
            # Deleted there: forget the record so the push creates the invoice again.
            link.qbo_id, link.sync_token, link.doc_number = "", "", ""
            link.qbo_status = LinkStatus.NEW
            link.generation += 1
        # A person chose the app's version: QuickBooks' edits are no conflict any more.
        # A customer made inactive there is sent Active again (the sparse update sends
        # a flag that is no longer stated as its default, true).
        link.last_payload = {"Active": False} if diff.kind == DifferenceKind.INACTIVE else {}
        link.content_hash = ""
        link.save()
    return _enqueue(diff.entity, obj, diff)


def _void(diff: Difference) -> list[SyncJob]:
    return _enqueue("invoice", _obj(diff), diff, action=JobAction.VOID)


def _link_existing(diff: Difference) -> list[SyncJob]:
    obj = _obj(diff)
    link = links.get_link(diff.connection, obj, "Invoice")
    if link.qbo_id and link.qbo_id != diff.qbo_id:
        raise RepairNotPossible(f"The invoice is already linked to QuickBooks invoice "
                                f"{link.qbo_id}.")
    # No SyncToken: the push reads the record first, then sends the app's version.
    link.qbo_id, link.sync_token, link.qbo_status = diff.qbo_id, "", LinkStatus.ACTIVE
    link.doc_number = str((diff.qbo_value or {}).get("number") or "")[:32]
    link.last_payload, link.content_hash = {}, ""
    link.save()
    return _enqueue("invoice", obj, diff)


def _accept(diff: Difference) -> list[SyncJob]:
    obj = _obj(diff)
    adapter = get_adapter("invoice")
    if not can_accept(diff.kind, adapter):
        raise RepairNotPossible("The app's invoice adapter cannot take QuickBooks' version "
                                "(it has no accept_quickbooks).")
    action = PULL_ACCEPTS.get(diff.kind, JobAction.PULL_ACCEPT)
    ids = [diff.qbo_id]
    if action == JobAction.PULL_PAYMENT:
        ids = list((diff.qbo_value or {}).get("payments") or [])
    jobs = [SyncJob.objects.create(
        connection=diff.connection, workspace=diff.connection.workspace,
        content_type=diff.content_type, object_id=str(obj.pk), entity="invoice",
        action=action, direction=SyncJob.Direction.PULL, qbo_id=qbo_id,
        trigger=JobTrigger.REPAIR)
        for qbo_id in ids]
    for job in jobs:
        dispatch_on_commit(job.pk)
    return jobs


_REPAIRS = {PUSH: _push, VOID: _void, LINK: _link_existing, ACCEPT: _accept}
