"""Apply one pull job to the host: record a payment, mark an invoice paid, or note
that QBO voided or deleted it. Runs inside the engine (``engine.execute``), so attempts,
retries and Sync Health text are the engine's.

The first run uses the object the cycle already read (in ``job.payload``); a retry
re-reads it from QBO, so what gets applied is what QBO says now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import DataError, transaction
from django.utils import timezone

from .. import signals
from ..adapters import has_hook
from ..data import PulledPayment
from ..exceptions import HostDataError, NotFoundError
from ..models import EntityLink, InvoiceStanding, JobAction, LinkStatus, SyncJob
from ..qbo.records import (
    ZERO,
    applied_to,
    balance,
    is_deleted,
    is_paid,
    is_void,
    last_updated,
    parse_qbo_time,
)
from ..sync.job import JobRun, Skip
from ..sync.links import marked_links, record_found
from .plan import PULL_DELETED, PULL_PAID, PULL_PAYMENT, PULL_VOID, slim_invoice, slim_payment


def handle(run: JobRun) -> str | None:
    """The engine's entry point for every pull job (``HANDLERS[("pull", "*")]``)."""
    action = run.job.action
    if action == PULL_PAYMENT:
        return apply_payment(run)
    if action in (PULL_PAID, PULL_VOID, PULL_DELETED):
        return apply_invoice(run)
    if action == JobAction.PULL_ACCEPT:
        return apply_accept(run)
    if action == JobAction.PULL_INVOICE_OVERDUE:
        return apply_overdue(run)
    raise Skip(f"Unknown pull action {action!r}.")


def _link(run: JobRun) -> EntityLink:
    job = run.job
    link = EntityLink.objects.filter(
        connection=run.connection, content_type_id=job.content_type_id,
        object_id=job.object_id, qbo_type="Invoice",
    ).first()
    if link is None:
        raise Skip("The invoice is no longer linked to QuickBooks.")
    return link


T = TypeVar("T")


def _host_write(what: str, write: Callable[[], T], values: dict[str, str]) -> T:
    """Run one write to the host (its own savepoint). A value from QuickBooks the host
    refuses is a :class:`HostDataError` naming the field, not a crash: the host's model
    validation (``ValidationError``) names its field; a database refusal (``DataError``,
    e.g. a value longer than the column on PostgreSQL) is explained by ``values``, the
    text that came from QuickBooks."""
    try:
        with transaction.atomic():
            return write()
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        if not fields:
            raise HostDataError(f"The app refused {what}: {' '.join(exc.messages)}") from None
        field = next(iter(fields))
        detail = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in fields.items())
        raise HostDataError(
            f"The app's field {field!r} cannot take {what}: {detail}", element=field,
            fix=f"Shorten or correct that value in QuickBooks, or widen the app's {field!r} "
            "field, then retry the job from Sync Health.") from None
    except DataError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        longest = max(values, key=lambda k: len(values[k]), default="")
        hint = (f"; the longest text from QuickBooks is its {longest} "
                f"({len(values[longest])} characters)" if longest else "")
        raise HostDataError(
            f"The app's database refused {what} ({reason}){hint}.", element=longest,
            fix="A value from QuickBooks does not fit the app's column: shorten it in "
            "QuickBooks, or widen the app's field, then retry the job from Sync Health.",
        ) from None


def _fresh(run: JobRun) -> bool:
    return run.job.attempts <= 1


def _number(link: EntityLink, invoice: dict | None = None) -> str:
    doc = (invoice or {}).get("DocNumber") or link.doc_number
    return f"invoice {doc}" if doc else f"invoice (QuickBooks Id {link.qbo_id})"


# Payments -------------------------------------------------------------------------


def apply_payment(run: JobRun) -> str:
    job, link = run.job, _link(run)
    payload: dict[str, Any] = dict(job.payload or {})
    if _fresh(run) and payload.get("payment"):
        payment = payload["payment"]
        method = payload.get("method") or ""
    else:
        try:
            payment = slim_payment(run.client.read("Payment", job.qbo_id))
        except NotFoundError:
            raise Skip(f"QuickBooks payment {job.qbo_id} no longer exists; nothing recorded.") \
                from None
        method = _method_name(run, payment)
    if EntityLink.objects.filter(connection=run.connection, qbo_type="Payment",
                                 qbo_id=job.qbo_id).exists() or marked_links(
            run.connection, "Payment", "payment", [{**payment, "Id": job.qbo_id}]):
        raise Skip(f"QuickBooks payment {job.qbo_id} was sent from this app.")
    amount = applied_to(payment, link.qbo_id)
    if amount <= ZERO:
        raise Skip(f"QuickBooks payment {job.qbo_id} applies nothing to {_number(link)} "
                   "(voided or moved to another invoice).")
    pulled = PulledPayment(
        qbo_id=str(payment.get("Id") or job.qbo_id),
        amount=amount,
        date=_day(payment.get("TxnDate")),
        method=method,
        reference=str(payment.get("PaymentRefNum") or ""),
    )
    recorded = _host_write(
        f"QuickBooks payment {pulled.qbo_id} on {_number(link)}",
        lambda: run.adapter.record_payment(run.obj, pulled),
        {"reference": pulled.reference, "payment method": pulled.method})
    if recorded is None:
        run.note(f"Payment of {amount} on {_number(link)} is in QuickBooks; the app does not "
                 "record QuickBooks payments (its invoice adapter has no record_payment).")
    else:
        run.note(f"Recorded QuickBooks payment {pulled.qbo_id}: {amount} on {pulled.date} "
                 f"against {_number(link)}.")
    return pulled.qbo_id


def _method_name(run: JobRun, payment: dict) -> str:
    ref = payment.get("PaymentMethodRef") or {}
    if ref.get("name") or not ref.get("value"):
        return str(ref.get("name") or "")
    try:
        return str(run.client.read("PaymentMethod", str(ref["value"])).get("Name") or "")
    except NotFoundError:
        return ""


def _day(value: Any) -> date:
    if isinstance(value, date):
        return value
    if value:
        try:
            return date.fromisoformat(str(value)[:10])
        except ValueError:
            pass
    return timezone.localdate()


# Invoices ----------------------------------------------------------------------------


def apply_invoice(run: JobRun) -> str:
    job, link = run.job, _link(run)
    payload: dict[str, Any] = dict(job.payload or {})
    if _fresh(run) and payload.get("invoice"):
        invoice = payload["invoice"]
    else:
        try:
            invoice = slim_invoice(run.client.read("Invoice", job.qbo_id))
        except NotFoundError:
            invoice = {"Id": job.qbo_id, "status": "Deleted"}
    if is_deleted(invoice):
        return _settle(run, link, invoice, LinkStatus.DELETED)
    if is_void(invoice):
        return _settle(run, link, invoice, LinkStatus.VOID)
    if job.action != PULL_PAID:
        raise Skip(f"{_number(link, invoice).capitalize()} is neither void nor deleted in "
                   "QuickBooks any more.")
    return _mark_paid(run, link, invoice, payload.get("paid_at"))


def _settle(run: JobRun, link: EntityLink, invoice: dict, state: str) -> str:
    """Record a QBO-side void or delete on the link so no later push brings the invoice
    back (the push engine refuses links in these states)."""
    if link.qbo_status != state:
        link.qbo_status = state
        link.save(update_fields=["qbo_status", "updated_at"])
    what = "voided" if state == "void" else "deleted"
    run.note(
        f"{_number(link, invoice).capitalize()} was {what} in QuickBooks. The app will not "
        f"send it to QuickBooks again. Fix: {'void' if state == 'void' else 'cancel'} it in "
        "the app too, or create a new invoice if the customer should still be billed."
    )
    return str(invoice.get("Id") or link.qbo_id)


def _mark_paid(run: JobRun, link: EntityLink, invoice: dict, paid_at: Any) -> str:
    if not is_paid(invoice):
        raise Skip(f"{_number(link, invoice).capitalize()} is no longer fully paid in "
                   f"QuickBooks (open balance {balance(invoice)}).")
    adapter, obj = run.adapter, run.obj
    status = adapter.status_of(obj)
    if status == "void":
        raise Skip(f"{_number(link, invoice).capitalize()} is paid in QuickBooks but void in "
                   "the app; it was left void.")
    when = parse_qbo_time(paid_at) if paid_at and "T" in str(paid_at) else None
    when = when or (_day(paid_at) if paid_at else (last_updated(invoice) or None))
    if status != "paid":
        _host_write(f"the payment in full of {_number(link, invoice)}",
                    lambda: adapter.mark_paid(obj, paid_at=when, source="quickbooks"), {})
        signals.invoice_paid_in_qbo.send(
            sender=SyncJob, job=run.job, connection=run.connection, obj=obj,
            qbo_invoice=invoice,
        )
        run.note(f"{_number(link, invoice).capitalize()} is fully paid in QuickBooks; marked "
                 "paid in the app.")
    else:
        run.note(f"{_number(link, invoice).capitalize()} is fully paid in QuickBooks and "
                 "already paid in the app.")
    if link.qbo_status != LinkStatus.PAID:
        link.qbo_status = LinkStatus.PAID
        link.save(update_fields=["qbo_status", "updated_at"])
    return str(invoice.get("Id") or link.qbo_id)


def apply_accept(run: JobRun) -> str:
    """A reconciliation repair: the invoice adapter takes QuickBooks' version, and the
    link records that version as the last write, so the push that follows the host's
    save finds no conflict (docs/reconciliation.md, "Repairs")."""
    link = _link(run)
    try:
        invoice = run.client.read("Invoice", link.qbo_id)
    except NotFoundError:
        invoice = {"Id": link.qbo_id, "status": "Deleted"}
    _host_write(f"QuickBooks' version of {_number(link, invoice)}",
                lambda: run.adapter.accept_quickbooks(run.obj, invoice), {})
    if is_deleted(invoice) or is_void(invoice):
        link.qbo_status = LinkStatus.DELETED if is_deleted(invoice) else LinkStatus.VOID
        link.save(update_fields=["qbo_status", "updated_at"])
    else:
        record_found(link, invoice, link.last_payload or invoice)
    run.note(f"Took QuickBooks' version of {_number(link, invoice)} into the app.")
    return str(invoice.get("Id") or link.qbo_id)


def apply_overdue(run: JobRun) -> str:
    """Tell the host what the invoice's standing says now (``pull/overdue.py``): the
    job may run after a later pull changed it, and then reports the later state."""
    link = _link(run)
    standing = InvoiceStanding.objects.filter(link=link).first()
    if standing is None:
        raise Skip(f"QuickBooks has said nothing yet about {_number(link)}'s balance.")
    if not standing.needs_report:
        raise Skip(f"The app already shows {_number(link)} as "
                   f"{'overdue' if standing.overdue else 'not overdue'}.")
    if not has_hook(run.adapter, "mark_overdue"):
        raise Skip("The invoice adapter has no mark_overdue; overdue invoices are only "
                   "counted in the status summary.")
    _host_write(f"the overdue state of {_number(link)}",
                lambda: run.adapter.mark_overdue(run.obj, standing.overdue), {})
    InvoiceStanding.objects.filter(pk=standing.pk).update(reported=standing.overdue)
    if standing.overdue:
        run.note(f"{_number(link).capitalize()} is overdue in QuickBooks (open balance "
                 f"{standing.balance}, due {standing.due_date}); marked overdue in the app.")
    else:
        run.note(f"{_number(link).capitalize()} is no longer overdue in QuickBooks; the app "
                 "was told.")
    return link.qbo_id


#: The engine runs every pull job (re-reading its QBO object on a retry) through here.
HANDLERS = {("pull", "*"): handle}
