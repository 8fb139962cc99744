"""Overdue on both sides: an invoice with an open balance past its due date
(``qbo.records.is_overdue``, docs/qbo-rules.md §5.12).

What QuickBooks says about each linked invoice's balance and due date is kept as its
:class:`~qbo_sync.models.InvoiceStanding`, from two sources:

- the pull: every invoice a catch-up reads (CDC or paged queries) updates its standing;
- a daily check (:func:`check_connection`): invoices become overdue by the calendar
  alone, with no change in QuickBooks for CDC to see, so once a day one paged query
  ``Balance > '0' AND DueDate < today`` reads every overdue invoice of the company.

When a standing's overdue state differs from what the host was last told, a pull job
(``pull_invoice_overdue``) calls the invoice adapter's optional ``mark_overdue``. The
status summary counts the overdue standings and sums their balances.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..adapters import get_adapter, has_hook
from ..conf import app_settings
from ..connection.clients import client_for
from ..exceptions import QBOSyncError
from ..models import Connection, EntityLink, InvoiceStanding, JobAction, JobTrigger, SyncJob
from ..qbo.records import balance, due_date, is_deleted, is_overdue
from ..qbo.wire import quote
from ..sync.outbox import dispatch_many
from .lock import realm_lock
from .plan import SETTLED, Planned

logger = logging.getLogger("qbo_sync.pull")

PULL_OVERDUE = JobAction.PULL_INVOICE_OVERDUE
ACTIVE = (SyncJob.Status.PENDING, SyncJob.Status.RUNNING)
CHUNK = 500  # ids per IN (...) lookup


def today() -> date:
    """The day overdue is judged by: the site's local date (``TIME_ZONE``)."""
    return timezone.localdate()


def _currency(invoice: dict) -> str:
    return str((invoice.get("CurrencyRef") or {}).get("value") or "")[:3]


def note(connection: Connection, invoices: Iterable[dict], *,
         on: date | None = None) -> list[Planned]:
    """Record the standing of each linked invoice among ``invoices`` (QBO objects);
    returns the overdue reports due (none when the host has no ``mark_overdue``)."""
    on = on or today()
    by_id = {str(i.get("Id")): i for i in invoices if i.get("Id")}
    report = has_hook(get_adapter("invoice"), "mark_overdue")
    planned: list[Planned] = []
    ids = sorted(by_id)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        found = {link.qbo_id: link for link in EntityLink.objects.filter(
            connection=connection, qbo_type="Invoice", qbo_id__in=chunk,
        ).select_related("content_type")}
        standings = {s.link_id: s for s in InvoiceStanding.objects.filter(
            link__in=list(found.values()))}
        for qbo_id, link in found.items():
            invoice = by_id[qbo_id]
            standing = standings.get(link.pk) or InvoiceStanding(link=link,
                                                                 connection=connection)
            gone = is_deleted(invoice) or link.qbo_status in SETTLED
            standing.balance = Decimal("0") if gone else balance(invoice)
            standing.due_date = due_date(invoice) or standing.due_date
            standing.currency = _currency(invoice) or standing.currency
            standing.overdue = not gone and is_overdue(invoice, on)
            standing.save()
            if report and standing.needs_report:
                planned.append(Planned(PULL_OVERDUE, link, qbo_id,
                                       {"overdue": standing.overdue}))
    return planned


def new_jobs(connection: Connection, planned: list[Planned], *,
             trigger: str = JobTrigger.SCHEDULE) -> list[SyncJob]:
    """A pull job per report, unless one for the same invoice is still on its way (the
    job reads the standing when it runs, so one is enough)."""
    busy = set(SyncJob.objects.filter(
        connection=connection, action=PULL_OVERDUE, status__in=ACTIVE,
        object_id__in=[p.link.object_id for p in planned],
    ).values_list("content_type_id", "object_id"))
    jobs = []
    for item in planned:
        key = (item.link.content_type_id, item.link.object_id)
        if key in busy:
            continue
        busy.add(key)
        jobs.append(SyncJob.objects.create(
            connection=connection, workspace=connection.workspace,
            content_type=item.link.content_type, object_id=item.link.object_id,
            entity="invoice", action=PULL_OVERDUE, direction=SyncJob.Direction.PULL,
            qbo_id=item.qbo_id, payload=item.payload,
            max_attempts=int(app_settings.RETRY["MAX_ATTEMPTS"]), trigger=trigger,
        ))
    return jobs


def check_connection(connection: Connection, *, on: date | None = None) -> dict[str, Any]:
    """The daily check of one company: one paged query for its overdue invoices; those
    found are overdue, every other standing that was is not any more. Returns a
    summary; the reports due are handed to workers."""
    on = on or today()
    summary: dict[str, Any] = {"workspace": connection.workspace, "day": on.isoformat()}
    with realm_lock(connection.realm_id, wait=30) as lock:
        if not lock:
            return {**summary, "skipped": "another pull of this QuickBooks company is running"}
        try:
            with client_for(connection) as client:
                rows = client.query_all(
                    "Invoice", where=f"Balance > '0' AND DueDate < {quote(on.isoformat())}")
                summary["calls"] = client.calls
        except QBOSyncError as err:
            logger.warning("overdue check for %s failed: %s", connection.workspace, err)
            return {**summary, "error": str(err), "fix": err.fix}
        with transaction.atomic():
            planned = note(connection, rows, on=on)
            overdue_ids = {str(r.get("Id")) for r in rows}
            cleared = InvoiceStanding.objects.filter(connection=connection, overdue=True) \
                .exclude(link__qbo_id__in=overdue_ids).select_related("link__content_type")
            report = has_hook(get_adapter("invoice"), "mark_overdue")
            for standing in cleared:
                standing.overdue = False
                standing.save(update_fields=["overdue", "updated_at"])
                if report and standing.needs_report:
                    planned.append(Planned(PULL_OVERDUE, standing.link, standing.link.qbo_id,
                                           {"overdue": False}))
            jobs = new_jobs(connection, planned)
    dispatch_many([job.pk for job in jobs])
    return {**summary, "overdue": len(rows), "reports": len(jobs)}


def check_all() -> int:
    """The daily schedule's entry point: check every connected company."""
    checked = 0
    for conn in Connection.objects.filter(status=Connection.Status.CONNECTED).exclude(
            realm_id=""):
        check_connection(conn)
        checked += 1
    return checked
