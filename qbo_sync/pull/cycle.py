"""Pull from QBO: payments recorded in QuickBooks, and invoices paid, voided or deleted
there, come back to the host (docs/architecture.md data flow, docs/qbo-rules.md §6, §7).

A cycle for one connection:

1. take the realm's pull lock (one pull per company at a time, docs/qbo-rules.md §7.5);
2. read what changed since ``Connection.cdc_cursor`` (minus an overlap): one CDC call for
   Payment and Invoice, paged when the 1000-object cap is hit, paged queries when the
   cursor is older than CDC's 30 days (:mod:`.pull_changes`);
3. match the changes to linked host invoices and write one pull ``SyncJob`` per action
   not already recorded (:mod:`.pull_plan`);
4. run each job through the engine (:mod:`.pull_apply` is the handler), so failures
   show in Sync Health and retry like pushes;
5. move the cursor to the cycle's start.

The number of QBO calls per cycle depends on how much changed, never on how many
invoices are open (reads are metered, docs/qbo-rules.md §3).
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from ..connection.clients import client_for
from ..exceptions import QBOSyncError
from ..models import Connection, JobTrigger, SyncJob
from ..sync.engine import run_job
from ..sync.queue import queue_task
from . import overdue
from .changes import fetch_changes, window_start
from .contacts import plan_contacts
from .lock import RealmLock, realm_lock
from .plan import needs_method_names, new_jobs, plan

logger = logging.getLogger("qbo_sync.pull")


def pull_connection(connection_id: int, *, source: str = "schedule",
                    wait: float = 0) -> dict[str, Any]:
    """Run one catch-up cycle for a connection; returns a summary.

    ``wait``: seconds to wait for a pull of the same company that is already running
    (a webhook waits, so its change is read after that pull; the schedule does not).
    """
    conn = Connection.objects.filter(pk=connection_id).first()
    summary: dict[str, Any] = {"connection": connection_id, "source": source}
    if conn is None:
        return {**summary, "skipped": "no such connection"}
    summary["workspace"] = conn.workspace
    if not conn.is_connected or not conn.realm_id:
        return {**summary, "skipped": "not connected to QuickBooks"}
    with realm_lock(conn.realm_id, wait=wait) as lock:
        if not lock:
            return {**summary, "busy": True,
                    "skipped": "another pull of this QuickBooks company is running"}
        conn.refresh_from_db()
        return {**summary, **_cycle(conn, lock, SOURCES.get(source, JobTrigger.SCHEDULE))}


#: What started a pull → the trigger its jobs record.
SOURCES = {"schedule": JobTrigger.SCHEDULE, "webhook": JobTrigger.WEBHOOK,
           "command": JobTrigger.PULL}


def _cycle(conn: Connection, lock: RealmLock, trigger: str) -> dict[str, Any]:
    started = timezone.now()
    since = window_start(conn.cdc_cursor, conn.connected_at, started)
    with client_for(conn, source="pull") as client:
        try:
            changes = fetch_changes(client, since, started, renew=lock.renew)
            names = _method_names(client) if needs_method_names(changes) else {}
        except QBOSyncError as err:
            # The cursor stays put, so the next cycle reads this window again.
            logger.warning("pull for %s failed: %s", conn.workspace, err)
            return {"error": str(err), "fix": err.fix, "since": since.isoformat()}
    if not lock.renew():
        return _lost(conn, since)
    jobs = (new_jobs(conn, plan(conn, changes, names), trigger=trigger)
            + plan_contacts(conn, changes.of("Customer"), trigger=trigger))
    # After the payments and paid invoices: an invoice paid in full is no longer overdue.
    jobs += overdue.new_jobs(conn, overdue.note(conn, changes.of("Invoice")), trigger=trigger)
    statuses = []
    for job in jobs:
        # Every planned job is a row already: stopping here loses none of them.
        if not lock.renew():
            return _lost(conn, since)
        statuses.append(run_job(job.pk))
    # Every change in the window is a job row now (a failed one retries from Sync
    # Health, a pending one by itself), so the window is done.
    Connection.objects.filter(pk=conn.pk).update(cdc_cursor=started)
    return {
        "mode": changes.mode,
        "since": since.isoformat(),
        "changed": {entity: len(objs) for entity, objs in changes.objects.items()},
        "capped": changes.capped,
        "jobs": len(jobs),
        "succeeded": statuses.count(SyncJob.Status.SUCCEEDED),
        "skipped_jobs": statuses.count(SyncJob.Status.SKIPPED),
        "failed": sum(s not in (SyncJob.Status.SUCCEEDED, SyncJob.Status.SKIPPED)
                      for s in statuses),
        "cursor": started.isoformat(),
    }


def _lost(conn: Connection, since: Any) -> dict[str, Any]:
    """The lease ran out (this worker stalled) and another pull took the company over:
    stop, leaving the cursor, so that pull or the next one reads the window again."""
    logger.warning("pull for %s lost its lock to another pull; stopped", conn.workspace)
    return {"error": "Another pull of this QuickBooks company took over a stalled one.",
            "fix": "Nothing to do: the next pull reads these changes again.",
            "since": since.isoformat()}


def _method_names(client: Any) -> dict[str, str]:
    """PaymentMethod Id → name, one query (payments carry only the id)."""
    return {str(m.get("Id")): str(m.get("Name") or "")
            for m in client.query_all("PaymentMethod")}


def connections() -> list[Connection]:
    return list(Connection.objects.filter(status=Connection.Status.CONNECTED)
                .exclude(realm_id=""))


def pull_all() -> int:
    """Queue a catch-up for every connected connection (the scheduled entry point).
    Returns how many were queued."""
    return sum(
        queue_task("qbo_sync.tasks.pull_connection", conn.pk,
                   name=f"qbo_sync pull {conn.workspace}")
        for conn in connections()
    )
