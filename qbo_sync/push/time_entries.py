"""Time entries → QBO TimeActivity (docs/qbo-rules.md §5.10): create exactly once, full
updates with the SyncToken, deletes followed.

A TimeActivity has no PrivateNote, so no marker can be written into it (the
Description is shown on invoices). After an ambiguous create the probe looks among the
time activities created since the link was made, on the entry's date, for one that
holds what this or the previous attempt sent and that no other link owns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from ..exceptions import QBOValidationError, StaleObjectError
from ..mapping import content_hash
from ..mapping.text import raise_if_any
from ..mapping.time_activities import (
    Worker,
    owned_differences,
    time_activity_payload,
    time_entry_problems,
)
from ..models import EntityLink, JobAction, LinkStatus, SyncJob, WorkerMapping
from ..qbo.wire import quote, request_id
from ..sync import links
from ..sync.job import Defer, JobRun, Skip
from .context import context, record
from .customers import sync_customer
from .documents import _dependency
from .gone import _with_fresh_token, gone_link
from .write import CONFLICT_FIX, create_once

ENTITY = "TimeActivity"


def worker_for(conn, worker_key: str) -> Worker | None:
    """The QuickBooks worker for ``worker_key``: its own mapping, else the default one."""
    rows = {m.worker_key: m for m in WorkerMapping.objects.filter(
        connection=conn, worker_key__in={worker_key, ""})}
    row = rows.get(worker_key) or rows.get("")
    return Worker(row.name_of, row.qbo_id) if row else None


def push_time_entry(run: JobRun) -> str | None:
    if run.obj is None:
        return time_entry_gone(run)
    entry, adapter, conn = run.obj, run.adapter, run.connection
    data = adapter.to_data(entry)
    ctx = context(run)
    worker = worker_for(conn, data.worker_key)
    if worker is None and not WorkerMapping.objects.filter(connection=conn).exists():
        # Opt-in per connection: QBO needs a worker on every TimeActivity.
        raise Skip("Time entries go to QuickBooks once the connection has a worker mapping "
                   "(Admin → the connection → worker mappings).")
    # Preflight first: a record QBO would reject costs no call, not even its customer's.
    raise_if_any(time_entry_problems(data, ctx, worker))
    contact = adapter.contact_of(entry)
    customer_id = ""
    if contact is not None:
        customer_id = _dependency(run, "contact", contact,
                                  lambda c: sync_customer(run, c, dependency=True))
    payload = time_activity_payload(data, ctx, worker=worker, customer_id=customer_id)
    link = links.get_link(conn, entry, ENTITY)
    if link.qbo_status == LinkStatus.DELETED:
        raise QBOValidationError(
            "This time activity was deleted in QuickBooks, so it is not pushed again.",
            fix="Log the time again in the app, or restore it in QuickBooks and retry.")
    if link.qbo_id:
        run.job.action = JobAction.UPDATE
        return _update(run, link, payload)
    run.job.action = JobAction.CREATE
    previous = dict(run.job.payload or {})
    record(run, payload)
    obj = create_once(run, link, ENTITY, payload, _probe(run, link, [payload, previous]))
    if owned_differences(payload, obj):
        # A probe or a requestid replay found what an earlier attempt wrote, from older
        # data: link it as QBO holds it, then send the app's current version.
        links.record_found(link, obj, payload)
        run.note("QuickBooks held an older version of the time activity from an earlier "
                 "attempt (" + "; ".join(owned_differences(payload, obj))
                 + "); sent the app's current data as an update.")
        return _update(run, link, payload)
    links.record_write(link, obj, payload)
    record(run, payload, obj)
    return link.qbo_id


def _probe(run: JobRun, link: EntityLink, wanted: list[dict]) -> Callable[[], dict | None]:
    def probe() -> dict | None:
        candidates = [p for p in wanted if p.get("TxnDate")]
        dates = sorted({p["TxnDate"] for p in candidates})
        if not dates:
            return None
        since = (link.created_at - timedelta(minutes=5)).isoformat()
        on = (f"TxnDate = {quote(dates[0])}" if len(dates) == 1
              else "TxnDate IN (" + ", ".join(quote(d) for d in dates) + ")")
        taken = set(EntityLink.objects.filter(
            connection=run.connection, qbo_type=ENTITY).exclude(pk=link.pk)
            .exclude(qbo_id="").values_list("qbo_id", flat=True))
        for row in run.client.query_all(
                ENTITY, where=f"{on} AND MetaData.CreateTime >= {quote(since)}"):
            if str(row.get("Id")) in taken:
                continue
            if any(not owned_differences(links.as_written(p, row), row) for p in candidates):
                return row
        return None

    return probe


def _update(run: JobRun, link: EntityLink, payload: dict) -> str:
    """Full update with our last write's SyncToken; after a 5010, re-read, refuse to
    overwrite an accountant's edit of a field we own, and retry once."""
    if link.content_hash == content_hash(payload):
        raise Skip("No change since the last sync.")
    current = None if link.sync_token else run.client.read(ENTITY, link.qbo_id)
    body: dict = {}
    for attempt in (1, 2):
        if current is not None:
            diff = owned_differences(links.as_written(link.last_payload, current), current)
            if diff:
                raise StaleObjectError(
                    "The time activity was changed in QuickBooks since the app last wrote "
                    "it: " + "; ".join(diff), code="5010", fix=CONFLICT_FIX)
        token = str(current["SyncToken"]) if current is not None else link.sync_token
        body = {**payload, "Id": link.qbo_id, "SyncToken": token}
        try:
            obj = run.client.update(ENTITY, body, sparse=False, request_id=request_id(
                run.connection.realm_id, "update", ENTITY, link.qbo_id, token,
                content_hash(payload)))
            break
        except StaleObjectError:
            if attempt == 2:
                raise
            current = run.client.read(ENTITY, link.qbo_id)
            if not owned_differences(links.as_written(payload, current), current):
                obj = current  # our earlier attempt's answer was lost
                run.note("QuickBooks already held this version of the time activity (an "
                         "earlier attempt's answer was lost); recorded it.")
                break
    links.record_write(link, obj, payload)
    record(run, body, obj)
    return link.qbo_id


def time_entry_gone(run: JobRun) -> str | None:
    """The host time entry was deleted: delete its TimeActivity (QBO deletes time
    activities; there is no void)."""
    run.job.action = JobAction.DELETE
    link = gone_link(run, ENTITY)
    if link is not None and links.was_ambiguous(link):
        _settle_unknown_create(run, link)
        link.refresh_from_db()
    if link is None or not link.qbo_id:
        raise Skip("The time entry was deleted in the app before it reached QuickBooks; "
                   "nothing to remove there.")
    if link.qbo_status == LinkStatus.DELETED:
        raise Skip("The time activity is already deleted in QuickBooks.")
    realm = run.connection.realm_id
    obj = _with_fresh_token(run, link, ENTITY, lambda token: run.client.delete(
        ENTITY, link.qbo_id, token,
        request_id=request_id(realm, "delete", ENTITY, link.qbo_id, token)))
    link.qbo_status = LinkStatus.DELETED
    link.save(update_fields=["qbo_status", "updated_at"])
    record(run, {"Id": link.qbo_id, "operation": "delete"}, obj)
    run.note("The time entry was deleted in the app; deleted its time activity in QuickBooks.")
    return link.qbo_id


def _settle_unknown_create(run: JobRun, link: EntityLink) -> None:
    """The host data is gone, so the probe uses what the last push attempt sent (kept
    on its job)."""
    if links.create_in_flight(link):
        raise Defer("The time activity is being created in QuickBooks right now; it is "
                    "deleted there once that finishes.")
    # The delete may have joined the very job whose create was lost: its payload first.
    sent = run.job.payload or SyncJob.objects.filter(
        connection=run.connection, content_type_id=link.content_type_id,
        object_id=link.object_id, entity="time_entry").exclude(payload={}) \
        .order_by("-pk").values_list("payload", flat=True).first()
    found = _probe(run, link, [sent])() if sent else None
    if found is None:
        links.forget_create(link)
        return
    run.note(f"An earlier attempt had created TimeActivity {found['Id']} in QuickBooks; "
             "found it by what that attempt sent.")
    links.record_found(link, found, {})


HANDLERS = {("push", "time_entry"): push_time_entry}
