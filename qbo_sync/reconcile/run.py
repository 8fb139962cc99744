"""A reconciliation run: every linked invoice of a connection against QuickBooks.

Reads are batched: one ``SELECT * FROM Invoice WHERE Id IN (…)`` per :data:`CHUNK`
linked invoices, and one ``DocNumber IN (…)`` query per :data:`CHUNK` unlinked ones,
so a run costs about ``ceil(n / 30)`` calls, never one read per object
(docs/reconciliation.md, "Cost"). Objects with a sync still on its way are left out:
their difference is the sync's to settle, not a finding.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from .. import signals
from ..adapters import get_adapter
from ..connection.clients import client_for
from ..connection.lists import capabilities_of
from ..exceptions import (
    ConfigurationError,
    QBOSyncError,
    ReconcileBusy,
    Throttled,
    TransientError,
)
from ..models import (
    Connection,
    Difference,
    DifferenceKind,
    EntityLink,
    IgnoredDifference,
    ReconciliationRun,
    SyncJob,
)
from ..push import settle
from ..qbo.wire import json_safe, quote
from ..sync.queue import queue_task
from .compare import (
    AppInvoice,
    AppPayment,
    AppRecord,
    Found,
    invoice_differences,
    record_differences,
    unlinked_difference,
)
from .repair import can_accept, repair_safe

logger = logging.getLogger("qbo_sync.reconcile")

#: Ids (or numbers) per query. QBO documents no limit on an ``IN`` list; 30, the
#: batch size, keeps each statement short and each answer well under a page.
CHUNK = 30
#: Tries of one read before the run fails (each transient failure waits first).
READ_TRIES = 5
#: A queued or running run older than this is taken to be lost and blocks nothing.
STALE_AFTER = timedelta(hours=2)
#: What else is compared, by adapter kind: its QuickBooks entity.
OTHER_KINDS = {"credit_memo": "CreditMemo", "refund": "RefundReceipt", "contact": "Customer"}
ACTIVE_JOBS = (SyncJob.Status.PENDING, SyncJob.Status.RUNNING, SyncJob.Status.PARKED)

Progress = Callable[[ReconciliationRun], None]


def start_reconciliation(connection: Connection, *, trigger: str = "admin", user: Any = None,
                         since: date | None = None, fix: str = "",
                         queue: bool = True) -> ReconciliationRun:
    """Create a run; ``queue`` hands it to a worker once the transaction commits
    (otherwise the caller runs it with :func:`run_reconciliation`)."""
    if not connection.is_connected:
        raise ConfigurationError(
            f"Workspace {connection.workspace!r} is not connected to QuickBooks.",
            fix="Connect or reconnect it first (QuickBooks → Connection).")
    if fix not in ("", "safe"):
        raise ConfigurationError(f"Unknown fix mode {fix!r}.", element="fix",
                                 fix="Use 'safe', or leave it out to only report.")
    busy = ReconciliationRun.objects.filter(
        connection=connection, status__in=[ReconciliationRun.Status.QUEUED,
                                           ReconciliationRun.Status.RUNNING],
        created_at__gte=timezone.now() - STALE_AFTER).first()
    if busy is not None:
        raise ReconcileBusy(f"Reconciliation {busy.pk} of {connection.workspace!r} is "
                            f"{busy.status} since {busy.created_at:%Y-%m-%d %H:%M}.")
    run = ReconciliationRun.objects.create(connection=connection, trigger=trigger, user=user,
                                           since=since, fix=fix)
    if queue:
        transaction.on_commit(lambda: queue_task("qbo_sync.tasks.reconcile_run", run.pk,
                                                 name=f"qbo_sync reconcile {run.pk}"))
    return run


def run_queued(run_id: int) -> str:
    """A worker's entry point: run a queued run once (a broker redelivery finds it
    started and leaves it)."""
    claimed = ReconciliationRun.objects.filter(
        pk=run_id, status=ReconciliationRun.Status.QUEUED).update(
        status=ReconciliationRun.Status.RUNNING, started_at=timezone.now())
    run = ReconciliationRun.objects.select_related("connection").filter(pk=run_id).first()
    if run is None:
        return "missing"
    if claimed:
        run_reconciliation(run)
    return run.status


def reconcile_all() -> int:
    """Start a run for every connected connection that has none on its way. A run
    queued longer than :data:`STALE_AFTER` was lost by the broker: it is closed."""
    ReconciliationRun.objects.filter(
        status=ReconciliationRun.Status.QUEUED,
        created_at__lt=timezone.now() - STALE_AFTER).update(
        status=ReconciliationRun.Status.FAILED, finished_at=timezone.now(),
        error="No worker picked the run up; it was replaced by the next scheduled one.")
    started = 0
    for conn in Connection.objects.filter(status=Connection.Status.CONNECTED):
        try:
            start_reconciliation(conn, trigger="schedule")
        except ReconcileBusy:
            continue
        started += 1
    return started


def run_reconciliation(run: ReconciliationRun, *,
                       progress: Progress | None = None) -> ReconciliationRun:
    """Compare, record the differences, send ``reconciliation_found``; with
    ``run.fix == "safe"`` queue the safe repairs too."""
    run.status, run.started_at = ReconciliationRun.Status.RUNNING, timezone.now()
    run.save(update_fields=["status", "started_at"])
    conn = run.connection
    client = walk = None
    try:
        adapter = get_adapter("invoice")
        if adapter is None:
            raise ConfigurationError("No invoice adapter is configured.",
                                     fix="Set QBO_SYNC['ADAPTERS']['invoice'].")
        client = client_for(conn, source="reconcile")
        caps = capabilities_of(conn, client)
        walk = _Walk(run, adapter, client, is_us=bool(caps.is_us), progress=progress)
        walk.go()
    except TransientError as exc:
        run.status = ReconciliationRun.Status.FAILED
        run.error = (f"QuickBooks did not answer the reads after {READ_TRIES} tries "
                     f"({exc.message or exc}). Start the run again later; the schedule "
                     "also runs it again.")
    except QBOSyncError as exc:
        run.status, run.error = ReconciliationRun.Status.FAILED, exc.explained()
    except Exception:  # noqa: BLE001 - the run must end, and say so
        logger.exception("Reconciliation %s failed", run.pk)
        run.status = ReconciliationRun.Status.FAILED
        run.error = "Unexpected error; the server log has the details."
    else:
        run.status = ReconciliationRun.Status.DONE
    finally:
        if client is not None:
            run.calls = client.calls
            client.close()
        if walk is not None:
            run.counts = walk.counts  # a failed run still counts what it recorded
    run.finished_at = timezone.now()
    run.save()
    if run.status == ReconciliationRun.Status.DONE:
        if run.fix == "safe":
            run.repaired = repair_safe(run, user=run.user)
            run.save(update_fields=["repaired"])
        if run.found:
            signals.reconciliation_found.send(sender=ReconciliationRun, run=run,
                                              connection=conn, counts=dict(run.counts))
    return run


def fingerprint(conn: Connection, found: Found, ct_id: int | None, object_id: str) -> str:
    """Same object, kind and values → same text: what an ignore remembers."""
    text = json.dumps([conn.pk, found.kind, found.entity, ct_id, object_id,
                       found.payment_key, json_safe(found.app), json_safe(found.quickbooks),
                       found.explanation],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


class _Walk:
    """One run's pass: linked invoices chunk by chunk, then the unlinked ones."""

    def __init__(self, run: ReconciliationRun, adapter: Any, client: Any, *, is_us: bool,
                 progress: Progress | None) -> None:
        self.run, self.conn, self.adapter, self.client = run, run.connection, adapter, client
        self.is_us, self.progress = is_us, progress
        self.model = adapter.get_model()
        self.ct = ContentType.objects.get_for_model(self.model)
        self.pay_adapter = get_adapter("payment")
        self.pay_ct = (ContentType.objects.get_for_model(self.pay_adapter.get_model())
                       if self.pay_adapter else None)
        self.contact_adapter = get_adapter("contact")
        self.counts: dict[str, int] = {}
        self.customers: dict[str, str] = {}  # contact key → its one QBO customer, or ""
        self.settled: dict[str, AppPayment] = {}  # this chunk's payments of push/settle.py
        self.ignored = set(IgnoredDifference.objects.filter(connection=self.conn)
                           .values_list("fingerprint", flat=True))

    def go(self) -> None:
        links = list(EntityLink.objects.filter(connection=self.conn, content_type=self.ct,
                                               qbo_type="Invoice").exclude(qbo_id="")
                     .order_by("pk"))
        unlinked = self._unlinked({link.object_id for link in links})
        others = self._other_links()
        self.run.total = len(links) + len(unlinked) + sum(len(v) for v in others.values())
        self.run.save(update_fields=["total"])
        for chunk in _chunks(links):
            self._linked(chunk)
            self._tick(len(chunk))
        for chunk in _chunks(unlinked):
            self._by_number(chunk)
            self._tick(len(chunk))
        for kind, kind_links in others.items():
            for chunk in _chunks(kind_links):
                self._other(kind, chunk)
                self._tick(len(chunk))
        self.run.counts = self.counts

    def _tick(self, n: int) -> None:
        self.run.done += n
        self.run.calls = self.client.calls
        self.run.save(update_fields=["done", "calls", "in_flight", "ignored"])
        if self.progress is not None:
            self.progress(self.run)

    # Linked invoices ------------------------------------------------------------------

    def _linked(self, chunk: list[EntityLink]) -> None:
        objs = self._host(link.object_id for link in chunk)
        # One read of each invoice's payments, and one query for all their links and
        # jobs: a chunk costs a fixed number of queries, not several per invoice.
        pays = {key: list(self.adapter.payments_of(obj)) if self.pay_adapter else []
                for key, obj in objs.items()}
        pay_links = self._pay_links(pays)
        self.settled = self._settled(list(objs))
        busy = self._busy(objs, pays)
        wanted = [link for link in chunk if link.object_id not in busy
                  and self._in_window(objs.get(link.object_id))]
        self.run.in_flight += sum(1 for link in chunk if link.object_id in busy)
        records = self._read("Invoice", "Id", [link.qbo_id for link in wanted])
        for link in wanted:
            obj = objs.get(link.object_id)
            app = self._app_invoice(link, obj, pays.get(link.object_id, []), pay_links)
            found = invoice_differences(app, records.get(link.qbo_id), link.qbo_id,
                                        is_us=self.is_us, authority=self.conn.tax_authority)
            self._keep(found, link.object_id, app.number or link.doc_number)

    def _in_window(self, obj: Any) -> bool:
        if obj is None or self.run.since is None:
            return True
        issued = self.adapter.issue_date_of(obj)
        return issued is None or issued >= self.run.since

    def _host(self, ids: Iterable[str]) -> dict[str, Any]:
        # A linked invoice moved to another workspace is still this company's: the
        # adapter reads it plainly rather than call it deleted.
        return self.adapter.objects_by_key(self.conn.workspace, ids)

    def _settled(self, keys: list[str]) -> dict[str, AppPayment]:
        """The payments pushed for invoices marked paid without a record (push/settle.py):
        the app's too, though no host payment row holds them."""
        out = {}
        for link in EntityLink.objects.filter(connection=self.conn, content_type=self.ct,
                                              object_id__in=keys, variant=settle.VARIANT
                                              ).exclude(qbo_id=""):
            amount = Decimal(str((link.last_payload or {}).get("TotalAmt") or 0))
            out[link.object_id] = AppPayment(key=f"settle-{link.object_id}", amount=amount,
                                             pushed=False, qbo_id=link.qbo_id)
        return out

    def _pay_links(self, pays: dict[str, list[Any]]) -> dict[str, str]:
        ids = [str(p.pk) for group in pays.values() for p in group]
        if not ids:
            return {}
        return dict(EntityLink.objects.filter(connection=self.conn, content_type=self.pay_ct,
                                              object_id__in=ids)
                    .values_list("object_id", "qbo_id"))

    def _busy(self, objs: dict[str, Any], pays: dict[str, list[Any]]) -> set[str]:
        """Invoices whose own sync, or a payment's, is still on its way."""
        busy = set(SyncJob.objects.filter(content_type=self.ct, object_id__in=list(objs),
                                          status__in=ACTIVE_JOBS)
                   .values_list("object_id", flat=True))
        owner = {str(p.pk): key for key, group in pays.items() for p in group}
        if owner:
            busy.update(owner[oid] for oid in SyncJob.objects.filter(
                content_type=self.pay_ct, object_id__in=list(owner),
                status__in=ACTIVE_JOBS).values_list("object_id", flat=True))
        return busy

    def _app_invoice(self, link: EntityLink, obj: Any, pays: list[Any],
                     pay_links: dict[str, str]) -> AppInvoice:
        if obj is None:
            return AppInvoice(key=link.object_id, number=link.doc_number, status="deleted")
        data = self.adapter.to_data(obj)
        return AppInvoice(key=link.object_id, number=data.number,
                          status=self.adapter.status_of(obj), data=data,
                          customer_qbo_id=self._customer(obj),
                          payments=self._payments(pays, pay_links) + tuple(
                              [self.settled[link.object_id]]
                              if link.object_id in self.settled else []),
                          last_payload=link.last_payload or {})

    def _customer(self, obj: Any) -> str:
        contact = self.adapter.contact_of(obj)
        if contact is None or self.contact_adapter is None:
            return ""
        return self._customer_of_key(str(contact.pk))

    def _customer_of_key(self, contact_key: str) -> str:
        """The one QBO customer of a contact ("" if none, or one per currency), read
        once per contact and run."""
        if self.contact_adapter is None or not contact_key:
            return ""
        if contact_key not in self.customers:
            ct = ContentType.objects.get_for_model(self.contact_adapter.get_model())
            ids = list(EntityLink.objects.filter(connection=self.conn, content_type=ct,
                                                 object_id=contact_key).exclude(qbo_id="")
                       .values_list("qbo_id", flat=True))
            # A contact billed in two currencies has two customers: only one is certain.
            self.customers[contact_key] = ids[0] if len(ids) == 1 else ""
        return self.customers[contact_key]

    def _payments(self, pays: list[Any], links: dict[str, str]) -> tuple[AppPayment, ...]:
        out = []
        for pay in pays:
            pushed = self.pay_adapter.should_sync(pay)
            qbo_id = links.get(str(pay.pk), "") if pushed else self.pay_adapter.qbo_id_of(pay)
            out.append(AppPayment(key=str(pay.pk), amount=self.pay_adapter.to_data(pay).amount,
                                  pushed=pushed, qbo_id=qbo_id or ""))
        return tuple(out)

    # Unlinked invoices ----------------------------------------------------------------

    def _unlinked(self, linked: set[str]) -> list[Any]:
        out = []
        for obj in self.adapter.objects_for(self.conn.workspace).iterator():
            if str(obj.pk) in linked or not self.adapter.should_sync(obj):
                continue
            if self.adapter.workspace_of(obj) != self.conn.workspace:
                continue
            if self.adapter.status_of(obj) == "draft" or not self._in_window(obj):
                continue
            out.append(obj)
        return out

    def _by_number(self, chunk: list[Any]) -> None:
        datas = {str(obj.pk): self.adapter.to_data(obj) for obj in chunk}
        numbers = sorted({d.number for d in datas.values() if d.number})
        records = self._read("Invoice", "DocNumber", numbers)
        by_number: dict[str, list[dict]] = {}
        for record in records.values():
            by_number.setdefault(str(record.get("DocNumber") or ""), []).append(record)
        for key, data in datas.items():
            for record in by_number.get(data.number, []):
                app = AppInvoice(key=key, number=data.number, status=data.status, data=data)
                self._keep([unlinked_difference(app, record)], key, data.number)

    # Credit memos, refunds and customers -----------------------------------------------

    def _other_links(self) -> dict[str, list[EntityLink]]:
        out: dict[str, list[EntityLink]] = {}
        for kind, qbo_type in OTHER_KINDS.items():
            adapter = get_adapter(kind)
            if adapter is None:
                continue
            ct = ContentType.objects.get_for_model(adapter.get_model())
            out[kind] = list(EntityLink.objects.filter(
                connection=self.conn, content_type=ct, qbo_type=qbo_type).exclude(qbo_id="")
                .order_by("pk"))
        return out

    def _other(self, kind: str, chunk: list[EntityLink]) -> None:
        adapter = get_adapter(kind)
        model = adapter.get_model()
        ct = ContentType.objects.get_for_model(model)
        pk = model._meta.pk
        objs = {str(o.pk): o for o in model._default_manager.filter(
            pk__in=[pk.to_python(link.object_id) for link in chunk])}
        busy = set(SyncJob.objects.filter(content_type=ct, object_id__in=list(objs),
                                          status__in=ACTIVE_JOBS)
                   .values_list("object_id", flat=True))
        wanted = [link for link in chunk if link.object_id not in busy]
        self.run.in_flight += len(chunk) - len(wanted)
        # Name lists hide inactive records unless asked (docs/qbo-rules.md §8).
        records = self._read(OTHER_KINDS[kind], "Id", [link.qbo_id for link in wanted],
                             extra=" AND Active IN (true, false)" if kind == "contact" else "")
        for link in wanted:
            app = self._app_record(kind, adapter, link, objs.get(link.object_id))
            found = record_differences(app, records.get(link.qbo_id), link.qbo_id,
                                       is_us=self.is_us, authority=self.conn.tax_authority)
            self._keep(found, link.object_id, "", ct=ct, label=app.label)

    def _app_record(self, kind: str, adapter: Any, link: EntityLink, obj: Any) -> AppRecord:
        label = f"{kind.replace('_', ' ')} {link.doc_number or link.object_id}"
        if obj is None:
            return AppRecord(kind=kind, key=link.object_id, label=label, exists=False)
        data = adapter.to_data(obj)
        if kind == "contact":
            return AppRecord(kind=kind, key=link.object_id, label=f"contact "
                             f"{data.display_name!r}", active=data.active,
                             last_payload=link.last_payload or {})
        return AppRecord(kind=kind, key=link.object_id,
                         label=f"{kind.replace('_', ' ')} {data.number}", data=data,
                         customer_qbo_id=self._customer_of_key(data.contact_key),
                         last_payload=link.last_payload or {})

    # Reading and keeping --------------------------------------------------------------

    def _read(self, entity: str, field: str, values: list[str], *,
              extra: str = "") -> dict[str, dict]:
        if not values:
            return {}
        listed = ", ".join(quote(v) for v in values)
        statement = (f"SELECT * FROM {entity} WHERE {field} IN ({listed}){extra} "
                     "MAXRESULTS 1000")
        for attempt in range(1, READ_TRIES + 1):
            try:
                rows = self.client.query(statement)
                break
            except TransientError as exc:
                # A read changes nothing, so it is safe to send again: wait for the
                # budget (ours or QuickBooks'), or back off after a 5xx or a timeout.
                if attempt == READ_TRIES:
                    raise
                wait = getattr(exc, "retry_after", None)
                if wait is None:
                    wait = 60.0 if isinstance(exc, Throttled) else 2.0 ** attempt
                time.sleep(min(float(wait), 60.0))
        return {str(row.get("Id")): row for row in rows}

    def _keep(self, found: list[Found], object_id: str, number: str, *,
              ct: Any = None, label: str = "") -> None:
        rows = []
        for item in found:
            row_ct, oid = (self.pay_ct, item.payment_key) if item.payment_key else (
                ct or self.ct, object_id)
            print_ = fingerprint(self.conn, item, row_ct.pk if row_ct else None, oid)
            if print_ in self.ignored:
                self.run.ignored += 1
                continue
            kind = str(item.kind)
            self.counts[kind] = self.counts.get(kind, 0) + 1
            row_label = (f"{item.entity} {oid}" if item.payment_key
                         else label or f"invoice {number}")
            rows.append(Difference(
                run=self.run, connection=self.conn, kind=item.kind, entity=item.entity,
                content_type=row_ct, object_id=oid, label=row_label[:255], qbo_id=item.qbo_id,
                explanation=item.explanation, app_value=json_safe(item.app),
                qbo_value=json_safe(item.quickbooks), repairs=list(self._offered(item)),
                safe_repair=item.safe, fingerprint=print_))
        Difference.objects.bulk_create(rows)

    def _offered(self, item: Found) -> tuple[str, ...]:
        """The repairs that fit, less "accept" where the host cannot take QuickBooks'
        version (no ``accept_quickbooks`` hook) and it is no paid/payment pull."""
        return tuple(r for r in item.repairs
                     if (r != "accept" or can_accept(item.kind, self.adapter))
                     and (r != "push" or item.kind != DifferenceKind.PAID_IN_APP
                          or settle.can_settle(self.adapter)))
