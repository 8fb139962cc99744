"""Notices of new records, opt-in per workspace (README "Alerts", "Notices of new
records"): an invoice the app created in QuickBooks, a payment recorded in QuickBooks and
taken into the app. They go through the same notifiers as alerts, after the job's
transaction commits, and are never suppressed: each record is told once, because each
job succeeds once."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from ..models import JobAction, SyncJob
from .compose import PREFIX
from .config import alert_settings
from .notifiers import Event, Message, deliver


def _kind(job: SyncJob) -> str:
    if job.direction == SyncJob.Direction.PUSH and job.entity == "invoice" \
            and job.action == JobAction.CREATE:
        return "invoice_created"
    if job.direction == SyncJob.Direction.PULL and job.action == JobAction.PULL_PAYMENT:
        return "payment_received"
    return ""


def _amount(value: Any) -> str:
    try:
        return format(Decimal(str(value)), "f")
    except (InvalidOperation, ValueError):
        return ""


def notice(job: SyncJob) -> Event | None:
    """The notice a finished job gives, or None when it gives none (pure over the job)."""
    kind = _kind(job)
    if kind == "invoice_created":
        number = str((job.response or {}).get("DocNumber") or job.payload.get("DocNumber") or "")
        label = f"Invoice {number}" if number else "An invoice"
        return Event("fired", kind, f"{label} created in QuickBooks",
                     f"{label} of the app is now QuickBooks invoice {job.qbo_id} "
                     f"(sync job {job.pk}).", subject=job.qbo_id)
    if kind == "payment_received":
        amount = _amount(job.payload.get("amount"))
        invoice = job.payload.get("invoice_id", "")
        title = f"Payment of {amount} received" if amount else "Payment received"
        return Event("fired", kind, f"{title} in QuickBooks",
                     f"QuickBooks payment {job.qbo_id} applied to QuickBooks invoice "
                     f"{invoice} was recorded in the app (sync job {job.pk}).",
                     subject=job.qbo_id)
    return None


def wanted(workspace: str) -> list[str]:
    """The notice kinds ``workspace`` opted in to (none by default)."""
    chosen = alert_settings().get("RECORD_NOTICES") or {}
    return list(chosen.get(workspace, ()))


def on_sync_succeeded(sender: Any, job: SyncJob, **kwargs: Any) -> None:
    """``signals.sync_succeeded`` receiver: tell the workspace, when it asked to be told."""
    kinds = wanted(job.workspace)
    if not kinds:
        return
    event = notice(job)
    if event is None or event.rule not in kinds:
        return
    message = Message(workspace=job.workspace,
                      subject=f"{PREFIX} {job.workspace}: {event.title}",
                      text=f"{event.title}\n\n{event.detail}\n", events=(event,))
    # After the commit: a job whose outcome rolls back tells no one.
    transaction.on_commit(lambda: deliver(message))
