"""Push handlers for documents: make QBO match the host, exactly once.

Each handler gets a claimed :class:`~qbo_sync.sync.job.JobRun` and returns the QBO id it
wrote. Dependencies resolve themselves (an invoice pushes its customer first; a
payment waits for, or pushes, its invoice). Creates go through :func:`create_once`
(:mod:`qbo_sync.push.write`); customers live in :mod:`qbo_sync.push.customers`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import F
from django.utils import timezone

from .. import mapping, signals
from ..adapters import get_adapter
from ..conf import app_settings
from ..exceptions import BudgetSpent, QBOValidationError, StaleObjectError
from ..mapping.text import raise_if_any
from ..models import EntityLink, JobAction, JobTrigger, LinkStatus, SyncJob
from ..qbo.wire import quote, request_id
from ..sync import links
from ..sync.job import Defer, JobRun, Skip, worker_id
from . import billing, gone, settle
from .context import context, marker, record, with_marker
from .customers import plan_contact, push_contact, sync_customer
from .totals import settle_totals, unpushed_payments
from .write import (
    Planned,
    begin_create,
    create_once,
    find_by_marker,
    perform,
    settle_found,
    update_transaction,
)

__all__ = ["HANDLERS", "PLANNERS", "create_once", "push_contact", "push_credit_memo",
           "push_invoice", "push_payment", "push_refund", "sync_customer"]

DEAD = (LinkStatus.VOID, LinkStatus.DELETED)


def _ensure_alive(link: EntityLink | None, what: str) -> None:
    if link is not None and link.qbo_status in DEAD:
        raise QBOValidationError(
            f"This {what} was {link.qbo_status} in QuickBooks, so it is not pushed again.",
            fix=("Create a new one in the app, or restore it in QuickBooks and retry; "
                 "see the Sync Health row that reported the change."),
        )


def _probe_by_customer(run: JobRun, entity: str, customer_id: str, payload: dict,
                       mark: str) -> Callable[[], dict | None]:
    def probe() -> dict | None:
        if payload.get("DocNumber"):
            where = f"DocNumber = {quote(payload['DocNumber'])}"
        else:
            where = (f"CustomerRef = {quote(customer_id)} "
                     f"AND TxnDate = {quote(payload['TxnDate'])}")
        return find_by_marker(run, entity, where, mark)

    return probe


def _create(run: JobRun, link: EntityLink, entity: str, payload: dict, customer_id: str,
            kind: str, key: str) -> str:
    return _plan_create(run, link, entity, payload, customer_id, kind, key).now() or ""


def _plan_create(run: JobRun, link: EntityLink, entity: str, payload: dict,
                 customer_id: str, kind: str, key: str) -> Planned:
    record(run, payload)
    probe = _probe_by_customer(run, entity, customer_id, payload, marker(kind, key))
    call = begin_create(run, link, entity, payload, probe)
    return Planned(call, lambda answer: _created(run, link, entity, payload, answer()))


def _created(run: JobRun, link: EntityLink, entity: str, payload: dict, obj: dict) -> str:
    if settle_found(run, link, entity, payload, obj,
                    lambda: update_transaction(run, link, entity, payload)):
        return link.qbo_id
    links.record_write(link, obj, payload)
    record(run, payload, obj)
    return link.qbo_id


# Invoices -------------------------------------------------------------------------------


def push_invoice(run: JobRun) -> str | None:
    return perform(plan_invoice(run))


def plan_invoice(run: JobRun) -> str | None | Planned:
    """:func:`push_invoice` up to its create call (``write.Planned``), or done."""
    if run.obj is None:
        return gone.invoice_gone(run)
    inv, adapter, conn = run.obj, run.adapter, run.connection
    status = adapter.status_of(inv)
    link = links.find_link(conn, inv)
    if run.job.action == JobAction.SETTLE:
        return settle.settle_invoice(run, link, lambda: _invoice_first(run, inv), _create)
    if status == "draft":
        raise Skip("Drafts are not sent to QuickBooks.")
    if status == "void":
        return _void_invoice(run, link)
    _ensure_alive(link, "invoice")
    data = adapter.to_data(inv)
    ctx = context(run)
    # Preflight before anything else, so a record QBO would reject costs no call at
    # all, not even its customer's.
    raise_if_any(mapping.invoice_problems(data, ctx))
    customer_id = _dependency(run, "contact", adapter.contact_of(inv),
                              lambda c: sync_customer(run, c, currency=data.currency,
                                                      dependency=True))
    payload = with_marker(mapping.invoice_payload(data, ctx, customer_id=customer_id),
                          "invoice", data.key)
    link = link or links.get_link(conn, inv, "Invoice")

    def written(qbo_id: str | None) -> str | None:
        settle_totals(run, link, "Invoice", payload, data,
                      unpushed=unpushed_payments(run, inv))
        billing.bill_time_entries(run, inv)
        signals.invoice_synced.send(sender=SyncJob, job=run.job, obj=inv, qbo_id=qbo_id)
        return qbo_id

    if link.qbo_id:
        run.job.action = JobAction.UPDATE
        return written(update_transaction(run, link, "Invoice", payload, paid_guard=True))
    run.job.action = JobAction.CREATE
    return _plan_create(run, link, "Invoice", payload, customer_id, "invoice",
                        data.key).then(written)


def _void_invoice(run: JobRun, link: EntityLink | None) -> str | None:
    """Void, never delete: the invoice stays in QBO with zero amounts (§5.2)."""
    run.job.action = JobAction.VOID
    if link is not None and links.was_ambiguous(link):
        _settle_create_before_void(run, link)
    if link is None or not link.qbo_id:
        raise Skip("The invoice never reached QuickBooks; nothing to void.")
    if link.qbo_status == LinkStatus.VOID:
        raise Skip("Already void in QuickBooks.")
    # Our last write's SyncToken, so a void costs one call; a 5010 means someone saved
    # the invoice since: read the new token and void that (docs/qbo-rules.md §5.2).
    token = link.sync_token or str(run.client.read("Invoice", link.qbo_id)["SyncToken"])
    try:
        obj = _void_with(run, link, token)
    except StaleObjectError:
        obj = _void_with(run, link, str(run.client.read("Invoice", link.qbo_id)["SyncToken"]))
    link.sync_token = str(obj.get("SyncToken", link.sync_token))
    link.qbo_status = LinkStatus.VOID
    link.save(update_fields=["sync_token", "qbo_status", "updated_at"])
    record(run, {"Id": link.qbo_id, "operation": "void"}, obj)
    return link.qbo_id


def _settle_create_before_void(run: JobRun, link: EntityLink) -> None:
    """A void meets a create whose outcome is unknown (issue 16, defect 3): wait for a
    worker still creating it; otherwise look in QBO, and void what the create made."""
    if links.create_in_flight(link):
        raise Defer("The invoice is being created in QuickBooks right now; it is voided "
                    "once that finishes.")
    inv, adapter = run.obj, run.adapter
    data = adapter.to_data(inv)
    contact_link = links.find_link(run.connection, adapter.contact_of(inv))
    customer_id = contact_link.qbo_id if contact_link else ""
    payload = with_marker(mapping.invoice_payload(data, context(run), customer_id=customer_id),
                          "invoice", data.key)
    found = _probe_by_customer(run, "Invoice", customer_id, payload,
                               marker("invoice", data.key))()
    if found is None:
        links.forget_create(link)
        return
    run.note(f"An earlier attempt had created Invoice {found['Id']} in QuickBooks; "
             "linked it so it can be voided.")
    links.record_found(link, found, payload)


def _void_with(run: JobRun, link: EntityLink, token: str) -> dict:
    rid = request_id(run.connection.realm_id, "void", link.qbo_id, token)
    run.job.request_id = rid
    return run.client.void_invoice(link.qbo_id, token, request_id=rid)


def _dependency(run: JobRun, kind: str, obj: Any, fn: Callable[[Any], str]) -> str:
    """Push what ``run`` depends on inline, recorded as its own Sync Health row."""
    existing = links.find_link(run.connection, obj)
    if existing and existing.qbo_id and kind == "contact":
        return fn(obj)  # cheap: the link answers without a call
    job, before = _dependency_row(run, kind, obj)
    try:
        qbo_id = fn(obj)
    except (Defer, Skip, BudgetSpent):
        # Nothing happened: the waiting job says why; a reused row goes back as it was.
        if before is None:
            job.delete()
        else:
            SyncJob.objects.filter(pk=job.pk).update(**before)
        raise
    except Exception as err:
        job.status = SyncJob.Status.FAILED
        job.error = err.as_dict() if hasattr(err, "as_dict") else {"message": str(err)}
        fix = getattr(err, "fix", "")
        job.error_message = f"Needed by job {run.job.pk}: {err}" + (f" — {fix}" if fix else "")
        job.finished_at, job.claimed_until = timezone.now(), None
        job.save()
        run.finished.append(job.pk)
        raise
    job.status, job.qbo_id, job.finished_at = SyncJob.Status.SUCCEEDED, qbo_id, timezone.now()
    job.claimed_until = None
    job.save()
    run.finished.append(job.pk)
    run.note(f"Pushed the {kind} first (job {job.pk}).")
    return qbo_id


def _dependency_row(run: JobRun, kind: str, obj: Any) -> tuple[SyncJob, dict | None]:
    """The dependency's Sync Health row, leased like any running job so the sweeper
    re-runs it if this worker dies (issue 16, defect 6). A failed row for the same
    object is taken up again rather than left failed beside a later success."""
    ct = ContentType.objects.get_for_model(type(obj))
    now = timezone.now()
    fields = {
        "status": SyncJob.Status.RUNNING, "started_at": now, "finished_at": None,
        "claimed_by": worker_id(),
        "claimed_until": now + timedelta(seconds=int(app_settings.JOB_LEASE_SECONDS)),
        "error_message": f"Needed by job {run.job.pk}.", "error": {},
    }
    failed = SyncJob.objects.filter(
        connection=run.connection, content_type=ct, object_id=str(obj.pk), entity=kind,
        status=SyncJob.Status.FAILED,
    ).order_by("-pk").first()
    if failed is not None:
        before = {name: getattr(failed, name) for name in [*fields, "attempts"]}
        SyncJob.objects.filter(pk=failed.pk).update(attempts=F("attempts") + 1, **fields)
        failed.refresh_from_db()
        return failed, before
    return SyncJob.objects.create(
        connection=run.connection, workspace=run.job.workspace, content_type=ct,
        object_id=str(obj.pk), entity=kind, action=JobAction.CREATE, attempts=1,
        trigger=JobTrigger.DEPENDENCY, requested_by_id=run.job.requested_by_id, **fields,
    ), None


# Payments -------------------------------------------------------------------------------


def push_payment(run: JobRun) -> str | None:
    """A QBO Payment applied to its invoice (LinkedTxn), deposited to the Default
    Deposit Account (docs/qbo-rules.md §5.3)."""
    return perform(plan_payment(run))


def plan_payment(run: JobRun) -> str | None | Planned:
    """:func:`push_payment` up to its create call, or done."""
    if run.obj is None:
        return gone.payment_gone(run)
    pay, adapter, conn = run.obj, run.adapter, run.connection
    run.job.action = JobAction.SYNC_PAYMENT
    data = adapter.to_data(pay)
    invoice = adapter.invoice_of(pay)
    inv_data = get_adapter("invoice").to_data(invoice)
    raise_if_any(mapping.payment_problems(data, context(run),
                                          invoice_currency=inv_data.currency))
    inv_link = links.find_link(conn, invoice)
    if inv_link is None or not inv_link.qbo_id:
        inv_link = _invoice_first(run, invoice)
    _ensure_alive(inv_link, "invoice")
    ctx = context(run)
    customer_id = (inv_link.last_payload.get("CustomerRef") or {}).get("value", "")
    payload = mapping.payment_payload(
        data, ctx, customer_id=customer_id, invoice_id=inv_link.qbo_id,
        invoice_currency=inv_data.currency,
    )
    payload = with_marker(payload, "payment", data.key)
    link = links.get_link(conn, pay, "Payment")
    if link.qbo_id:
        return update_transaction(run, link, "Payment", payload)
    return _plan_create(run, link, "Payment", payload, customer_id, "payment", data.key)


def _invoice_first(run: JobRun, invoice: Any) -> EntityLink:
    inv_adapter = get_adapter("invoice")
    if inv_adapter.status_of(invoice) == "draft":
        raise QBOValidationError(
            "The payment's invoice is still a draft, so it is not in QuickBooks.",
            fix="Send the invoice, then retry the payment.",
        )
    ct = ContentType.objects.get_for_model(type(invoice))
    busy = SyncJob.objects.filter(
        content_type=ct, object_id=str(invoice.pk), entity="invoice",
        status__in=[SyncJob.Status.PENDING, SyncJob.Status.RUNNING],
    ).exclude(pk=run.job.pk)
    ahead = busy.order_by("pk").first()
    if ahead is not None:
        raise Defer(f"Waiting for the invoice to reach QuickBooks (job {ahead.pk}).",
                    seconds=60, waiting_for=ahead.pk)
    sub = JobRun(job=run.job, connection=run.connection, obj=invoice, adapter=inv_adapter,
                 client=run.client, notes=run.notes, mapping_context=context(run))
    _dependency(run, "invoice", invoice, lambda _obj: push_invoice(sub) or "")
    if sub.totals:
        run.note(f"The invoice was pushed first: {sub.totals['message']}")
    run.job.action = JobAction.SYNC_PAYMENT
    return links.find_link(run.connection, invoice)


# Credit memos and refunds -------------------------------------------------------------------


def _push_sales_doc(run: JobRun, entity: str, kind: str, build: Callable,
                    problems: Callable) -> str | Planned:
    obj, conn = run.obj, run.connection
    data = run.adapter.to_data(obj)
    ctx = context(run)
    raise_if_any(problems(data, ctx))
    contact_model = get_adapter("contact").get_model()
    contact = contact_model._default_manager.get(pk=data.contact_key)
    customer_id = _dependency(run, "contact", contact,
                              lambda c: sync_customer(run, c, currency=data.currency,
                                                      dependency=True))
    payload = with_marker(build(data, ctx, customer_id=customer_id), kind, data.key)
    link = links.get_link(conn, obj, entity)
    _ensure_alive(link, kind.replace("_", " "))

    def written(qbo_id: str | None) -> str:
        settle_totals(run, link, entity, payload, data)
        return qbo_id or ""

    if link.qbo_id:
        return written(update_transaction(run, link, entity, payload))
    return _plan_create(run, link, entity, payload, customer_id, kind, data.key).then(written)


def plan_credit_memo(run: JobRun) -> str | Planned:
    return _push_sales_doc(run, "CreditMemo", "credit_memo", mapping.credit_memo_payload,
                           mapping.credit_memo_problems)


def plan_refund(run: JobRun) -> str | Planned:
    return _push_sales_doc(run, "RefundReceipt", "refund", mapping.refund_receipt_payload,
                           mapping.refund_problems)


def push_credit_memo(run: JobRun) -> str:
    """A CreditMemo (docs/qbo-rules.md §5.4)."""
    return perform(plan_credit_memo(run)) or ""


def push_refund(run: JobRun) -> str:
    """A RefundReceipt paid out of the Default Deposit Account (docs/qbo-rules.md §5.5)."""
    return perform(plan_refund(run)) or ""


HANDLERS = {
    ("push", "contact"): push_contact,
    ("push", "invoice"): push_invoice,
    ("push", "payment"): push_payment,
    ("push", "credit_memo"): push_credit_memo,
    ("push", "refund"): push_refund,
}

#: The same handlers run up to their create call, so several jobs' creates can go as one
#: ``/batch`` call (``sync/batch.py``); the order is the dependency order of their kinds.
PLANNERS = {
    ("push", "contact"): plan_contact,
    ("push", "invoice"): plan_invoice,
    ("push", "credit_memo"): plan_credit_memo,
    ("push", "refund"): plan_refund,
    ("push", "payment"): plan_payment,
}
