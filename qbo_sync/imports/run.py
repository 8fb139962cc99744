"""A customer import: QuickBooks' customers read in pages of 1,000 (``SELECT * FROM
Customer … STARTPOSITION n MAXRESULTS 1000``, docs/qbo-rules.md §5.11), never one read
per customer, each one linked to the app contact it matches, created in the app through
the contact adapter's ``create_contact``, listed as ambiguous, or skipped.

A dry run decides the same way and writes nothing but its run record. Customers
already linked are skipped, so running it again creates nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone

from ..adapters import get_adapter, has_hook
from ..conf import app_settings
from ..connection.clients import client_for
from ..data import ImportedCustomer
from ..exceptions import ConfigurationError, ImportBusy, QBOSyncError, TransientError
from ..models import Connection, EntityLink, ImportRun, LinkStatus
from ..qbo.client import MAX_PAGE_SIZE
from ..receivers import muted
from ..sync import links
from ..sync.queue import queue_task
from .match import RULES, candidates, imported_customer, index_of

logger = logging.getLogger("qbo_sync.imports")

#: Customers per query: QBO's largest page (docs/qbo-rules.md §8).
PAGE = MAX_PAGE_SIZE
#: Inactive customers are read too, so the run can list them (skipped by default):
#: without this filter QBO returns active ones only (docs/qbo-rules.md §5.11).
STATEMENT = ("SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY Id "
             "STARTPOSITION {start} MAXRESULTS {size}")
#: The Customer fields a push writes (mapping.customer_payload): what a link stores as
#: "last written" when it links a customer QuickBooks already had.
CUSTOMER_FIELDS = ("DisplayName", "CompanyName", "PrimaryEmailAddr", "PrimaryPhone",
                   "BillAddr", "Taxable", "PrimaryTaxIdentifier", "Notes", "Active",
                   "CurrencyRef")
#: A queued or running import older than this is taken to be lost and blocks nothing.
STALE_AFTER = timedelta(hours=2)

LINK, CREATE, AMBIGUOUS, SKIP = "link", "create", "ambiguous", "skip"
Progress = Callable[[ImportRun], None]


def start_import(connection: Connection, *, match: str | None = None, dry_run: bool = False,
                 trigger: str = "admin", user: Any = None, queue: bool = True) -> ImportRun:
    """Create a run (``match`` None: ``QBO_SYNC["IMPORT_MATCH"]``); ``queue`` hands it
    to a worker once the transaction commits (otherwise the caller runs it with
    :func:`run_import`)."""
    match = match or str(app_settings.IMPORT_MATCH)
    if not connection.is_connected:
        raise ConfigurationError(
            f"Workspace {connection.workspace!r} is not connected to QuickBooks.",
            fix="Connect or reconnect it first (QuickBooks → Connection).")
    if match not in RULES:
        raise ConfigurationError(f"Unknown match rule {match!r}.", element="match",
                                 fix=f"Use one of {', '.join(RULES)}.")
    if get_adapter("contact") is None:
        raise ConfigurationError("No contact adapter is configured.", element="ADAPTERS",
                                 fix="Set QBO_SYNC['ADAPTERS']['contact'].")
    busy = ImportRun.objects.filter(
        connection=connection, status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING],
        created_at__gte=timezone.now() - STALE_AFTER).first()
    if busy is not None:
        raise ImportBusy(f"Customer import {busy.pk} of {connection.workspace!r} is "
                         f"{busy.status} since {busy.created_at:%Y-%m-%d %H:%M}.")
    run = ImportRun.objects.create(connection=connection, trigger=trigger, user=user,
                                   match=match, dry_run=dry_run)
    if queue:
        transaction.on_commit(lambda: queue_task("qbo_sync.tasks.import_customers", run.pk,
                                                 name=f"qbo_sync import {run.pk}"))
    return run


def run_queued(run_id: int) -> str:
    """A worker's entry point: run a queued import once (a broker redelivery finds it
    started and leaves it)."""
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
        status=ImportRun.Status.RUNNING, started_at=timezone.now())
    run = ImportRun.objects.select_related("connection").filter(pk=run_id).first()
    if run is None:
        return "missing"
    if claimed:
        run_import(run)
    return run.status


def run_import(run: ImportRun, *, progress: Progress | None = None) -> ImportRun:
    """Read every customer, page by page, and decide (and, unless a dry run, do) what
    each one needs. A failed run keeps what its finished pages did."""
    run.status, run.started_at = ImportRun.Status.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    client = None
    try:
        client = client_for(run.connection)
        _Import(run, client, progress).go()
    except TransientError as exc:
        run.status = ImportRun.Status.FAILED
        run.error = (f"QuickBooks did not answer ({exc.message or exc}). Start the import "
                     "again later: customers already linked are skipped.")
    except QBOSyncError as exc:
        run.status, run.error = ImportRun.Status.FAILED, exc.explained()
    except Exception:  # noqa: BLE001 - the run must end, and say so
        logger.exception("Customer import %s failed", run.pk)
        run.status = ImportRun.Status.FAILED
        run.error = "Unexpected error; the server log has the details."
    else:
        run.status = ImportRun.Status.DONE
    finally:
        if client is not None:
            run.calls = client.calls
            client.close()
    run.finished_at = timezone.now()
    run.save()
    return run


class _Import:
    """One run's pass over the customer pages."""

    def __init__(self, run: ImportRun, client: Any, progress: Progress | None) -> None:
        self.run, self.conn, self.client, self.progress = run, run.connection, client, progress
        self.workspace = self.conn.workspace
        self.adapter = get_adapter("contact")
        self.can_create = has_hook(self.adapter, "create_contact")
        self.ct = ContentType.objects.get_for_model(self.adapter.get_model())
        self.contacts: dict[str, Any] = {}
        rows = []
        for obj in self.adapter.objects_for(self.workspace):
            if self.adapter.workspace_of(obj) != self.workspace:
                continue
            data = self.adapter.to_data(obj)
            self.contacts[str(obj.pk)] = obj
            rows.append((str(obj.pk), data.email, data.display_name))
        self.index = index_of(rows)
        # Contact key → its customer, and customer Id → contact key (any currency).
        self.contact_customer: dict[str, str] = {}
        self.customer_contact: dict[str, str] = {}
        self.pushing: set[str] = set()  # contacts whose create is on its way
        for link in EntityLink.objects.filter(connection=self.conn, content_type=self.ct,
                                              qbo_type="Customer"):
            if link.qbo_id:
                self.customer_contact[link.qbo_id] = link.object_id
                if not link.variant:
                    self.contact_customer[link.object_id] = link.qbo_id
            elif link.qbo_status == LinkStatus.CREATING and not link.variant:
                self.pushing.add(link.object_id)

    def go(self) -> None:
        start = 1
        while True:
            page = self.client.query(STATEMENT.format(start=start, size=PAGE))
            self.run.total += len(page)
            rows = []
            with transaction.atomic(), muted():
                # Muted: a contact created or linked here is QuickBooks' already; no
                # push is queued for it.
                for record in page:
                    rows.append(self._one(record))
            self.run.results = [*self.run.results, *rows]
            self.run.done += len(page)
            self.run.calls = self.client.calls
            self.run.save(update_fields=["total", "done", "calls", "results", "linked",
                                         "created", "ambiguous", "skipped"])
            if self.progress is not None:
                self.progress(self.run)
            if len(page) < PAGE:
                return
            start += PAGE

    def _one(self, record: dict) -> list[str]:
        customer = imported_customer(record, self.workspace)
        outcome, keys, note = self._decide(customer)
        if outcome == LINK and not self.run.dry_run:
            self._link(self.contacts[keys[0]], record)
        elif outcome == CREATE and not self.run.dry_run:
            outcome, keys, note = self._create(customer, record)
        if outcome in (LINK, CREATE) and keys:
            self.contact_customer[keys[0]] = customer.qbo_id
            self.customer_contact[customer.qbo_id] = keys[0]
        counter = {LINK: "linked", CREATE: "created", AMBIGUOUS: "ambiguous",
                   SKIP: "skipped"}[outcome]
        setattr(self.run, counter, getattr(self.run, counter) + 1)
        return [customer.qbo_id, customer.display_name, outcome, ",".join(keys), note]

    def _decide(self, customer: ImportedCustomer) -> tuple[str, list[str], str]:
        own = self.customer_contact.get(customer.qbo_id)
        if own is not None:
            return SKIP, [own], "already linked"
        if not self.adapter.should_import(customer):
            if customer.is_sub_customer and not self.adapter.import_sub_customers:
                why = "a sub-customer or job; the contact adapter's import_sub_customers is off"
            elif not customer.active and not self.adapter.import_inactive:
                why = "inactive in QuickBooks; the contact adapter's import_inactive is off"
            else:
                why = "declined by the contact adapter's should_import"
            return SKIP, [], why
        keys = candidates(customer, self.index, self.run.match)
        free = [k for k in keys if k not in self.contact_customer]
        if len(free) > 1:
            return AMBIGUOUS, free, f"{len(free)} contacts match; link one by hand"
        if len(free) == 1:
            if free[0] in self.pushing:
                return SKIP, free, ("the contact's own push to QuickBooks is on its way; "
                                    "run the import again after it")
            return LINK, free, ""
        if keys:
            taken = ", ".join(f"contact {k} (QuickBooks customer {self.contact_customer[k]})"
                              for k in keys)
            return AMBIGUOUS, keys, f"matches {taken}, already linked to another customer"
        if not self.can_create:
            return SKIP, [], "no matching contact, and the contact adapter has no create_contact"
        return CREATE, [], ""

    def _link(self, contact: Any, record: dict) -> None:
        link = links.get_link(self.conn, contact, "Customer")
        # Stored as the last write with no content hash: the next push of the contact
        # sends only what differs from what QuickBooks holds.
        links.record_found(link, record, dict.fromkeys(CUSTOMER_FIELDS))

    def _create(self, customer: ImportedCustomer,
                record: dict) -> tuple[str, list[str], str]:
        try:
            with transaction.atomic():
                contact = self.adapter.create_contact(customer)
                self._link(contact, record)
        except (ValidationError, DatabaseError, ValueError) as exc:
            text = " ".join(getattr(exc, "messages", None) or [str(exc)])[:300]
            return SKIP, [], f"the app refused the new contact: {text}"
        return CREATE, [str(contact.pk)], ""
