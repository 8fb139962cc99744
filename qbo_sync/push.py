"""Push handlers: make QBO match the host, exactly once.

Each handler gets a claimed :class:`~qbo_sync.engine.JobRun` and returns the QBO id it
wrote. Dependencies resolve themselves (an invoice pushes its customer first; a
payment waits for, or pushes, its invoice). Creates go through :func:`create_once`:
a deterministic ``requestid`` plus a look in QBO after any ambiguous failure
(DESIGN.md invariant 2). Updates re-check QBO first and never overwrite an
accountant's edit of a field we own (invariant 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from . import links, mapping
from .adapters import get_adapter
from .client import quote
from .conflicts import differences
from .engine import Defer, JobRun, Skip
from .exceptions import (
    DuplicateNameError,
    DuplicateRequestError,
    NetworkError,
    ServerError,
    StaleObjectError,
    ValidationError,
)
from .models import EntityLink, SyncJob

DEAD = ("void", "deleted")


def _ctx(run: JobRun) -> mapping.MappingContext:
    if not hasattr(run, "_ctx"):
        run._ctx = links.mapping_context(run.connection, run.client)  # type: ignore[attr-defined]
    return run._ctx  # type: ignore[attr-defined]


def _record(run: JobRun, payload: dict, response: dict | None = None) -> None:
    run.job.payload = mapping.mask_payload(links.json_safe(payload))
    if response is not None:
        run.job.response = mapping.mask_payload(links.json_safe(response))


def _with_marker(payload: dict, kind: str, key: str) -> dict:
    mark = links.marker(kind, key)
    note = payload.get("PrivateNote") or ""
    note = (note[: 4000 - len(mark) - 1] + "\n" if note else "") + mark
    return {**payload, "PrivateNote": note}


# Creating exactly once ---------------------------------------------------------------


def create_once(run: JobRun, link: EntityLink, entity: str, payload: dict,
                probe: Callable[[], dict | None]) -> dict:
    """Create ``payload`` in QBO unless an earlier interrupted attempt already did."""
    ambiguous_before = links.was_ambiguous(link)
    if not links.start_create(link):
        raise Defer(f"Another worker is creating this {entity} in QuickBooks right now.")
    rid = links.request_id(run.connection.realm_id, "create", link.content_type_id,
                           link.object_id, link.variant)
    try:
        if ambiguous_before:
            found = probe()
            if found:
                run.note(f"An earlier attempt had already created {entity} {found['Id']} "
                         "in QuickBooks; linked it instead of creating another.")
                return found
        return run.client.create(entity, payload, request_id=rid)
    except DuplicateRequestError:
        # 600: QBO did this write before (qbo-api.md §2.4). Find it.
        found = probe()
        if found:
            return found
        _release(link, ambiguous=False)
        raise
    except (NetworkError, ServerError):
        _release(link, ambiguous=True)
        raise
    except Exception:
        _release(link, ambiguous=False)
        raise


def _release(link: EntityLink, *, ambiguous: bool) -> None:
    """Drop this worker's create mark. An ambiguous outcome keeps "creating" (so the
    next try looks first) but ages the mark so the retry may take it at once."""
    from datetime import timedelta

    if ambiguous:
        old = timezone.now() - timedelta(days=1)
        EntityLink.objects.filter(pk=link.pk).update(updated_at=old)
    else:
        EntityLink.objects.filter(pk=link.pk, qbo_id="").update(qbo_status="")


def _find_by_marker(run: JobRun, entity: str, where: str, mark: str) -> dict | None:
    for row in run.client.query_all(entity, where=where):
        if mark in (row.get("PrivateNote") or ""):
            return row
    return None


# Customers -----------------------------------------------------------------------------


def push_contact(run: JobRun) -> str:
    return sync_customer(run, run.obj)


def sync_customer(run: JobRun, contact: Any, *, currency: str = "",
                  dependency: bool = False) -> str:
    """The QBO customer id for ``contact`` (in ``currency``), creating or updating it."""
    ctx = _ctx(run)
    data = get_adapter("contact").to_data(contact)
    name = mapping.customer_display_name(data)
    variant = ""
    own = (data.currency or ctx.home_currency).upper()
    if currency and ctx.multicurrency and currency.upper() != own:
        # A customer's currency is fixed, so another currency needs another customer
        # (qbo-api.md §5.9).
        variant = currency.upper()
        name = mapping.customer_display_name_variant(name, variant)
        data = replace(data, currency=variant)
    link = links.get_link(run.connection, contact, "Customer", variant)
    if dependency and link.qbo_id:
        return link.qbo_id
    payload = mapping.customer_payload(data, ctx, display_name=name)
    _record(run, payload)
    if link.qbo_id:
        return _update_customer(run, link, payload)

    def probe() -> dict | None:
        rows = run.client.query(
            f"SELECT * FROM Customer WHERE DisplayName = {quote(name)} "
            "AND Active IN (true, false)"
        )
        return rows[0] if rows else None

    try:
        obj = create_once(run, link, "Customer", payload, probe)
    except DuplicateNameError as err:
        obj = _link_same_email(run, probe(), data.email)
        if obj is None:
            raise _duplicate_name(err, name, data.email) from err
        run.note(f"QuickBooks already had customer {name!r} with the same email; linked it.")
    links.record_write(link, obj, payload)
    _record(run, payload, obj)
    return link.qbo_id


def _link_same_email(run: JobRun, existing: dict | None, email: str) -> dict | None:
    theirs = ((existing or {}).get("PrimaryEmailAddr") or {}).get("Address", "")
    if existing and email and theirs.strip().lower() == email.strip().lower():
        return existing
    return None


def _duplicate_name(err: DuplicateNameError, name: str, email: str) -> DuplicateNameError:
    return DuplicateNameError(
        f"QuickBooks already has a customer, vendor or employee named {name!r}"
        + (" with a different email." if email else "."),
        code=err.code, detail=err.detail, status_code=err.status_code,
        intuit_tid=err.intuit_tid,
        fix=("Ways out: give the contact the same email as the QuickBooks customer and "
             "retry (they will be linked); or rename the contact (e.g. add the company or "
             "city) and retry; or, if a vendor or employee has that name, rename one of "
             "them in QuickBooks."),
    )


def _update_customer(run: JobRun, link: EntityLink, payload: dict) -> str:
    if link.content_hash == mapping.content_hash(payload):
        raise Skip("No change since the last sync.")
    for attempt in (1, 2):
        body = mapping.customer_sparse_update(
            payload, link.last_payload, qbo_id=link.qbo_id, sync_token=link.sync_token
        )
        if body is None:
            raise Skip("No change since the last sync.")
        try:
            obj = run.client.update("Customer", body, sparse=True)
            break
        except StaleObjectError:
            if attempt == 2:
                raise
            _reread_or_conflict(run, link, "Customer", customer=True)
    links.record_write(link, obj, payload)
    _record(run, body, obj)
    return link.qbo_id


def _reread_or_conflict(run: JobRun, link: EntityLink, entity: str, *,
                        customer: bool = False) -> dict:
    """After 5010: re-read; if only fields we don't own changed, take the new
    SyncToken; otherwise stop with what differs."""
    current = run.client.read(entity, link.qbo_id)
    diff = differences(link.last_payload, current, customer=customer)
    if diff:
        raise StaleObjectError(
            f"The {entity} was changed in QuickBooks since the app last wrote it: "
            + "; ".join(diff),
            code="5010",
            fix=("Decide which version is right: make the same change in the app and "
                 "retry, or undo the change in QuickBooks and retry."),
        )
    link.sync_token = str(current.get("SyncToken", link.sync_token))
    link.save(update_fields=["sync_token", "updated_at"])
    run.note(f"QuickBooks had a newer version of the {entity} (no conflicting fields); "
             "retried with it.")
    return current


# Transactions ---------------------------------------------------------------------------


def _ensure_alive(link: EntityLink | None, what: str) -> None:
    if link is not None and link.qbo_status in DEAD:
        raise ValidationError(
            f"This {what} was {link.qbo_status} in QuickBooks, so it is not pushed again.",
            fix=("Create a new one in the app, or restore it in QuickBooks and retry; "
                 "see the Sync Health row that reported the change."),
        )


def push_invoice(run: JobRun) -> str | None:
    inv, adapter, conn = run.obj, run.adapter, run.connection
    status = adapter.status_of(inv)
    link = links.find_link(conn, inv)
    if status == "draft":
        raise Skip("Drafts are not sent to QuickBooks.")
    if status == "void":
        return _void_invoice(run, link)
    _ensure_alive(link, "invoice")
    data = adapter.to_data(inv)
    ctx = _ctx(run)
    customer_id = _dependency(run, "contact", adapter.contact_of(inv),
                              lambda c: sync_customer(run, c, currency=data.currency,
                                                      dependency=True))
    payload = mapping.invoice_payload(data, ctx, customer_id=customer_id)
    payload = _with_marker(payload, "invoice", data.key)
    link = link or links.get_link(conn, inv, "Invoice")
    if link.qbo_id:
        run.job.action = "update"
        return _update_transaction(run, link, "Invoice", payload, paid_guard=True)
    run.job.action = "create"
    mark = links.marker("invoice", data.key)

    def probe() -> dict | None:
        if payload.get("DocNumber"):
            where = f"DocNumber = {quote(payload['DocNumber'])}"
        else:
            where = f"CustomerRef = {quote(customer_id)} AND TxnDate = {quote(payload['TxnDate'])}"
        return _find_by_marker(run, "Invoice", where, mark)

    _record(run, payload)
    obj = create_once(run, link, "Invoice", payload, probe)
    links.record_write(link, obj, payload)
    _record(run, payload, obj)
    return link.qbo_id


def _void_invoice(run: JobRun, link: EntityLink | None) -> str | None:
    run.job.action = "void"
    if link is None or not link.qbo_id:
        raise Skip("The invoice never reached QuickBooks; nothing to void.")
    if link.qbo_status == "void":
        raise Skip("Already void in QuickBooks.")
    current = run.client.read("Invoice", link.qbo_id)
    obj = run.client.void_invoice(
        link.qbo_id, current["SyncToken"],
        request_id=links.request_id(run.connection.realm_id, "void", link.qbo_id),
    )
    link.sync_token = str(obj.get("SyncToken", link.sync_token))
    link.qbo_status = "void"
    link.save(update_fields=["sync_token", "qbo_status", "updated_at"])
    _record(run, {"Id": link.qbo_id, "operation": "void"}, obj)
    return link.qbo_id


def _update_transaction(run: JobRun, link: EntityLink, entity: str, payload: dict, *,
                        paid_guard: bool = False) -> str:
    if link.content_hash == mapping.content_hash(payload):
        raise Skip("No change since the last sync.")
    current = run.client.read(entity, link.qbo_id)
    for attempt in (1, 2):
        if paid_guard and _is_paid(current):
            link.qbo_status = "paid"
            link.save(update_fields=["qbo_status", "updated_at"])
            raise Skip("Already paid in QuickBooks; the paid invoice is not overwritten.")
        diff = differences(link.last_payload, current)
        if diff:
            raise StaleObjectError(
                f"The {entity} was changed in QuickBooks since the app last wrote it: "
                + "; ".join(diff), code="5010",
                fix=("Decide which version is right: make the same change in the app and "
                     "retry, or undo the change in QuickBooks and retry."),
            )
        body = {**payload, "Id": link.qbo_id, "SyncToken": current["SyncToken"]}
        try:
            obj = run.client.update(entity, body, sparse=False, request_id=links.request_id(
                run.connection.realm_id, "update", entity, link.qbo_id, current["SyncToken"],
                mapping.content_hash(payload)))
            break
        except StaleObjectError:
            if attempt == 2:
                raise
            current = run.client.read(entity, link.qbo_id)
    links.record_write(link, obj, payload)
    _record(run, body, obj)
    return link.qbo_id


def _is_paid(invoice: dict) -> bool:
    from decimal import Decimal

    total = Decimal(str(invoice.get("TotalAmt") or 0))
    return total > 0 and Decimal(str(invoice.get("Balance") or 0)) == 0


def _dependency(run: JobRun, kind: str, obj: Any, fn: Callable[[Any], str]) -> str:
    """Push what ``run`` depends on inline, recorded as its own Sync Health row."""
    existing = links.find_link(run.connection, obj)
    if existing and existing.qbo_id and kind == "contact":
        return fn(obj)  # cheap: the link answers without a call
    ct = ContentType.objects.get_for_model(type(obj))
    job = SyncJob.objects.create(
        connection=run.connection, workspace=run.job.workspace, content_type=ct,
        object_id=str(obj.pk), entity=kind, action="create", status=SyncJob.Status.RUNNING,
        attempts=1, started_at=timezone.now(), error_message=f"Needed by job {run.job.pk}.",
    )
    try:
        qbo_id = fn(obj)
    except Exception as err:
        job.status = SyncJob.Status.FAILED
        job.error = err.as_dict() if hasattr(err, "as_dict") else {"message": str(err)}
        job.error_message = f"Needed by job {run.job.pk}: {err}"
        job.finished_at = timezone.now()
        job.save()
        raise
    job.status, job.qbo_id, job.finished_at = SyncJob.Status.SUCCEEDED, qbo_id, timezone.now()
    job.save()
    run.note(f"Pushed the {kind} first (job {job.pk}).")
    return qbo_id


def push_payment(run: JobRun) -> str | None:
    pay, adapter, conn = run.obj, run.adapter, run.connection
    data = adapter.to_data(pay)
    invoice = adapter.invoice_of(pay)
    inv_link = links.find_link(conn, invoice)
    if inv_link is None or not inv_link.qbo_id:
        inv_link = _invoice_first(run, invoice)
    _ensure_alive(inv_link, "invoice")
    ctx = _ctx(run)
    customer_id = (inv_link.last_payload.get("CustomerRef") or {}).get("value", "")
    inv_data = get_adapter("invoice").to_data(invoice)
    payload = mapping.payment_payload(
        data, ctx, customer_id=customer_id, invoice_id=inv_link.qbo_id,
        invoice_currency=inv_data.currency,
    )
    payload = _with_marker(payload, "payment", data.key)
    link = links.get_link(conn, pay, "Payment")
    if link.qbo_id:
        return _update_transaction(run, link, "Payment", payload)
    mark = links.marker("payment", data.key)

    def probe() -> dict | None:
        where = f"CustomerRef = {quote(customer_id)} AND TxnDate = {quote(payload['TxnDate'])}"
        return _find_by_marker(run, "Payment", where, mark)

    _record(run, payload)
    obj = create_once(run, link, "Payment", payload, probe)
    links.record_write(link, obj, payload)
    _record(run, payload, obj)
    return link.qbo_id


def _invoice_first(run: JobRun, invoice: Any) -> EntityLink:
    inv_adapter = get_adapter("invoice")
    if inv_adapter.status_of(invoice) == "draft":
        raise ValidationError(
            "The payment's invoice is still a draft, so it is not in QuickBooks.",
            fix="Send the invoice, then retry the payment.",
        )
    ct = ContentType.objects.get_for_model(type(invoice))
    busy = SyncJob.objects.filter(
        content_type=ct, object_id=str(invoice.pk), entity="invoice",
        status__in=[SyncJob.Status.PENDING, SyncJob.Status.RUNNING],
    ).exclude(pk=run.job.pk)
    if busy.exists():
        raise Defer("Waiting for the invoice to reach QuickBooks.", seconds=30)
    sub = JobRun(job=run.job, connection=run.connection, obj=invoice, adapter=inv_adapter,
                 client=run.client, notes=run.notes)
    sub._ctx = _ctx(run)  # type: ignore[attr-defined]
    _dependency(run, "invoice", invoice, lambda _obj: push_invoice(sub) or "")
    run.job.action = "sync_payment"
    return links.find_link(run.connection, invoice)


def _push_sales_doc(run: JobRun, entity: str, kind: str, build: Callable) -> str:
    obj, conn = run.obj, run.connection
    data = run.adapter.to_data(obj)
    ctx = _ctx(run)
    contact = _contact_of(kind, data, obj)
    customer_id = _dependency(run, "contact", contact,
                              lambda c: sync_customer(run, c, currency=data.currency,
                                                      dependency=True))
    payload = _with_marker(build(data, ctx, customer_id=customer_id), kind, data.key)
    link = links.get_link(conn, obj, entity)
    _ensure_alive(link, kind.replace("_", " "))
    if link.qbo_id:
        return _update_transaction(run, link, entity, payload)
    mark = links.marker(kind, data.key)

    def probe() -> dict | None:
        where = f"CustomerRef = {quote(customer_id)} AND TxnDate = {quote(payload['TxnDate'])}"
        return _find_by_marker(run, entity, where, mark)

    _record(run, payload)
    created = create_once(run, link, entity, payload, probe)
    links.record_write(link, created, payload)
    _record(run, payload, created)
    return link.qbo_id


def _contact_of(kind: str, data: Any, obj: Any) -> Any:
    contact_model = get_adapter("contact").get_model()
    return contact_model._default_manager.get(pk=data.contact_key)


def push_credit_memo(run: JobRun) -> str:
    return _push_sales_doc(run, "CreditMemo", "credit_memo", mapping.credit_memo_payload)


def push_refund(run: JobRun) -> str:
    return _push_sales_doc(run, "RefundReceipt", "refund", mapping.refund_receipt_payload)


HANDLERS = {
    ("push", "contact"): push_contact,
    ("push", "invoice"): push_invoice,
    ("push", "payment"): push_payment,
    ("push", "credit_memo"): push_credit_memo,
    ("push", "refund"): push_refund,
}
