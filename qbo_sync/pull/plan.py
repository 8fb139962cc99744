"""Turn changed QBO objects into pull jobs: which host invoices they touch, and what to
do to each. Pure database work, no QBO calls (the changes are already read)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..conf import app_settings
from ..models import Connection, EntityLink, JobAction, JobTrigger, LinkStatus, SyncJob
from ..qbo.records import applied_to, is_deleted, is_paid, is_void, last_updated
from ..qbo.wire import json_safe
from ..sync.links import marked_links
from .changes import Changes

PULL_PAYMENT = JobAction.PULL_PAYMENT
PULL_PAID = JobAction.PULL_INVOICE_PAID
PULL_VOID = JobAction.PULL_INVOICE_VOID
PULL_DELETED = JobAction.PULL_INVOICE_DELETED
ACTIONS = (PULL_PAYMENT, PULL_PAID, PULL_VOID, PULL_DELETED)
#: Link states after which a pulled change no longer applies.
SETTLED = {LinkStatus.VOID, LinkStatus.DELETED}
ZERO = Decimal("0")
CHUNK = 500  # ids per IN (...) lookup


@dataclass
class Planned:
    """One pull action on one linked host invoice."""

    action: str
    link: EntityLink
    qbo_id: str  # the Payment's Id for pull_payment, else the Invoice's
    payload: dict[str, Any]


def invoice_ids_of(payment: dict) -> list[str]:
    ids: list[str] = []
    for line in payment.get("Line") or []:
        for linked in line.get("LinkedTxn") or []:
            txn = str(linked.get("TxnId"))
            if linked.get("TxnType") == "Invoice" and txn not in ids:
                ids.append(txn)
    return ids


def slim_payment(payment: dict) -> dict:
    keys = ("Id", "SyncToken", "TxnDate", "TotalAmt", "PaymentRefNum", "PaymentMethodRef",
            "Line", "MetaData", "CustomerRef", "PrivateNote")
    return json_safe({k: payment[k] for k in keys if k in payment})


def slim_invoice(invoice: dict) -> dict:
    keys = ("Id", "SyncToken", "DocNumber", "TxnDate", "TotalAmt", "Balance", "PrivateNote",
            "MetaData", "status", "LinkedTxn")
    return json_safe({k: invoice[k] for k in keys if k in invoice})


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    items = sorted(set(values))
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


def _links(connection: Connection, qbo_type: str, ids: Iterable[str]) -> dict[str, EntityLink]:
    found: dict[str, EntityLink] = {}
    for chunk in _chunks(ids):
        for link in EntityLink.objects.filter(
            connection=connection, qbo_type=qbo_type, qbo_id__in=chunk
        ).select_related("content_type"):
            found[link.qbo_id] = link
    return found


def plan(connection: Connection, changes: Changes,
         method_names: dict[str, str] | None = None) -> list[Planned]:
    """The pull actions ``changes`` call for, payments first."""
    payments = [p for p in changes.of("Payment") if not is_deleted(p)]
    invoices = changes.of("Invoice")
    wanted = {str(i.get("Id")) for i in invoices}
    for payment in payments:
        wanted.update(invoice_ids_of(payment))
    links = _links(connection, "Invoice", wanted)
    # Payments this app pushed are already in the host: never echo them back (§7.5).
    ours = _links(connection, "Payment", (str(p.get("Id")) for p in payments))
    # ... and those whose create's answer has not reached the push yet: QBO holds our
    # marker in their PrivateNote (issue 16, defect 1).
    ours.update(marked_links(connection, "Payment", "payment", payments))
    names = method_names or {}

    planned: list[Planned] = []
    paid_on: dict[str, str] = {}  # invoice Id → latest payment date seen in this batch
    for payment in payments:
        pay_id = str(payment.get("Id"))
        if pay_id in ours:
            continue
        for inv_id in invoice_ids_of(payment):
            link = links.get(inv_id)
            if link is None or link.qbo_status in SETTLED:
                continue
            amount = applied_to(payment, inv_id)
            if amount <= ZERO:
                continue  # a voided payment applies nothing
            date = str(payment.get("TxnDate") or "")
            paid_on[inv_id] = max(paid_on.get(inv_id, ""), date)
            method_id = str((payment.get("PaymentMethodRef") or {}).get("value") or "")
            planned.append(Planned(PULL_PAYMENT, link, pay_id, {
                "invoice_id": inv_id, "amount": format(amount, "f"),
                "method": (payment.get("PaymentMethodRef") or {}).get("name")
                or names.get(method_id, ""),
                "payment": slim_payment(payment),
            }))
    # Invoices settled only by payments this app pushed are already paid in the host:
    # no pull job for those, just remember QBO's state on the link.
    ours.update(_links(connection, "Payment", (
        pid for invoice in invoices for pid in _payment_ids(invoice))))
    for invoice in invoices:
        inv_id = str(invoice.get("Id"))
        link = links.get(inv_id)
        if link is None:
            continue
        action = _invoice_action(invoice, link)
        if action == PULL_PAID and _payment_ids(invoice) and all(
            pid in ours for pid in _payment_ids(invoice)
        ):
            EntityLink.objects.filter(pk=link.pk).update(qbo_status=LinkStatus.PAID)
            continue
        if action is None:
            continue
        changed = last_updated(invoice)
        payload = {"invoice": slim_invoice(invoice),
                   "paid_at": paid_on.get(inv_id) or (changed.isoformat() if changed else "")}
        planned.append(Planned(action, link, inv_id, payload))
    return planned


def _payment_ids(invoice: dict) -> list[str]:
    return [str(t.get("TxnId")) for t in invoice.get("LinkedTxn") or []
            if t.get("TxnType") == "Payment"]


def _invoice_action(invoice: dict, link: EntityLink) -> str | None:
    if is_deleted(invoice):
        return None if link.qbo_status == LinkStatus.DELETED else PULL_DELETED
    if link.qbo_status in SETTLED:
        return None  # never resurrect a void or deleted link
    if is_void(invoice):
        return PULL_VOID
    if is_paid(invoice) and link.qbo_status != LinkStatus.PAID:
        return PULL_PAID
    return None


def needs_method_names(changes: Changes) -> bool:
    """Whether some payment names its method only by id (then one PaymentMethod query
    per cycle resolves them all)."""
    return any(
        (p.get("PaymentMethodRef") or {}).get("value")
        and not (p.get("PaymentMethodRef") or {}).get("name")
        for p in changes.of("Payment")
    )


def new_jobs(connection: Connection, planned: list[Planned], *,
             trigger: str = JobTrigger.SCHEDULE) -> list[SyncJob]:
    """Write a pull job for each planned action not already recorded: the same change
    read twice (overlapping windows, a webhook and the schedule) acts once.
    ``trigger``: what started the pull (the schedule, a webhook, the command)."""
    done: set[tuple[str, str, str]] = set()
    for chunk in _chunks(p.qbo_id for p in planned):
        done.update(
            SyncJob.objects.filter(
                connection=connection, direction=SyncJob.Direction.PULL,
                action__in=ACTIONS, qbo_id__in=chunk,
            ).values_list("action", "object_id", "qbo_id")
        )
    jobs: list[SyncJob] = []
    for item in planned:
        key = (item.action, item.link.object_id, item.qbo_id)
        if key in done:
            continue
        done.add(key)
        jobs.append(SyncJob.objects.create(
            connection=connection, workspace=connection.workspace,
            content_type=item.link.content_type, object_id=item.link.object_id,
            entity="invoice", action=item.action, direction=SyncJob.Direction.PULL,
            qbo_id=item.qbo_id, payload=item.payload,
            max_attempts=int(app_settings.RETRY["MAX_ATTEMPTS"]), trigger=trigger,
        ))
    return jobs
