"""Contacts → QBO customers (docs/qbo-rules.md §5.1): create once, sparse updates, 6240."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django.contrib.contenttypes.models import ContentType

from .. import mapping
from ..adapters import get_adapter
from ..exceptions import DuplicateNameError, StaleObjectError
from ..models import EntityLink, JobAction, SyncJob
from ..qbo.wire import quote
from ..sync import links
from ..sync.job import JobRun, Skip
from . import gone
from .context import context, record
from .write import Planned, begin_create, is_our_write, perform, reread_or_conflict, settle_found


def push_contact(run: JobRun) -> str:
    return perform(plan_contact(run)) or ""


def plan_contact(run: JobRun) -> str | Planned:
    """:func:`push_contact` up to its create call (``write.Planned``), or done."""
    if run.obj is None:
        return gone.contact_gone(run) or ""
    return plan_customer(run, run.obj)


def sync_customer(run: JobRun, contact: Any, *, currency: str = "",
                  dependency: bool = False) -> str:
    """The QBO customer id for ``contact`` (in ``currency``), creating or updating it."""
    return perform(plan_customer(run, contact, currency=currency,
                                 dependency=dependency)) or ""


def plan_customer(run: JobRun, contact: Any, *, currency: str = "",
                  dependency: bool = False) -> str | Planned:
    """:func:`sync_customer` up to its create call, or done."""
    ctx = context(run)
    data = get_adapter("contact").to_data(contact)
    name = mapping.customer_display_name(data)
    variant = ""
    own = (data.currency or ctx.home_currency).upper()
    if currency and ctx.multicurrency and currency.upper() != own:
        # A customer's currency is fixed, so another currency needs another customer
        # (docs/qbo-rules.md §5.9).
        variant = currency.upper()
        name = mapping.customer_display_name_variant(name, variant)
        data = replace(data, currency=variant)
    link = links.get_link(run.connection, contact, "Customer", variant)
    if dependency and link.qbo_id:
        return link.qbo_id
    payload = mapping.customer_payload(data, ctx, display_name=name)
    record(run, payload)
    if not dependency and run.job.entity == "contact":
        # Sync Health says what the contact's own job did, as it does for invoices.
        run.job.action = JobAction.UPDATE if link.qbo_id else JobAction.CREATE
    if link.qbo_id:
        return _update_customer(run, link, payload)

    def probe() -> dict | None:
        rows = run.client.query(
            f"SELECT * FROM Customer WHERE DisplayName = {quote(name)} "
            "AND Active IN (true, false)"
        )
        return rows[0] if rows else None

    call = begin_create(run, link, "Customer", payload, probe)
    return Planned(call, lambda answer: _created(run, contact, link, payload, data.email,
                                                 name, probe, answer))


def _created(run: JobRun, contact: Any, link: EntityLink, payload: dict, email: str,
             name: str, probe: Callable[[], dict | None],
             answer: Callable[[], dict]) -> str:
    try:
        obj = answer()
        _settle_failed_tries(run, contact, obj)
    except DuplicateNameError as err:
        # docs/qbo-rules.md §5.1: on 6240 look the name up and link when it is the same person.
        obj = _link_same_email(run, probe(), email)
        if obj is None:
            raise _duplicate_name(err, name, email) from err
        run.note(f"QuickBooks already had customer {name!r} with the same email; linked it.")
        # Remember what QBO holds, then send what differs from the contact.
        links.record_write(link, obj, {k: obj[k] for k in payload if k in obj})
        try:
            return _update_customer(run, link, payload)
        except Skip:
            return link.qbo_id
    if settle_found(run, link, "Customer", payload, obj,
                    lambda: _update_customer(run, link, payload)):
        return link.qbo_id
    links.record_write(link, obj, payload)
    record(run, payload, obj)
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


def _settle_failed_tries(run: JobRun, contact: Any, obj: dict) -> None:
    """The customer is in QBO now: earlier failed tries at pushing it (its own job, or
    rows of invoices that needed it first) say so instead of staying failed (issue 16)."""
    ct = ContentType.objects.get_for_model(type(contact))
    SyncJob.objects.filter(
        connection=run.connection, content_type=ct, object_id=str(contact.pk),
        entity="contact", status=SyncJob.Status.FAILED,
    ).exclude(pk=run.job.pk).update(
        status=SyncJob.Status.SUCCEEDED, qbo_id=str(obj.get("Id", "")),
        error_message=f"Pushed to QuickBooks since, by job {run.job.pk}.")


def _update_customer(run: JobRun, link: EntityLink, payload: dict) -> str:
    if link.content_hash == mapping.content_hash(payload):
        raise Skip("No change since the last sync.")
    for attempt in (1, 2):
        # The stored payload is masked: compare with what was written (links.as_written).
        body = mapping.customer_sparse_update(
            payload, links.as_written(link.last_payload, payload), qbo_id=link.qbo_id,
            sync_token=link.sync_token,
        )
        if body is None:
            raise Skip("No change since the last sync.")
        try:
            obj = run.client.update("Customer", body, sparse=True)
            break
        except StaleObjectError:
            if attempt == 2:
                raise
            current = run.client.read("Customer", link.qbo_id)
            # Active is no field an accountant's edit is judged by, so it is checked on
            # its own: a customer made inactive there is not our write.
            active = "Active" not in body or current.get("Active", True) == body["Active"]
            if active and is_our_write(payload, current, customer=True):
                # A lost answer to our own update, not an accountant's edit (issue 16).
                obj = current
                break
            reread_or_conflict(run, link, "Customer", customer=True, current=current)
    links.record_write(link, obj, payload)
    record(run, body, obj)
    return link.qbo_id
