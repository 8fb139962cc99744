"""The demo's task board step: billable time becomes QuickBooks time activities, and the
invoice made from the task marks them billed (see demo.py)."""

from __future__ import annotations

import time
from decimal import Decimal

from django.utils import timezone

from qbo_sync.connection.clients import client_for
from qbo_sync.models import EntityLink, SyncJob, WorkerMapping
from qbo_sync.sync import outbox

from .models import Contact, Task, TimeEntry

ENTRIES = [
    ("Kick-off workshop", Decimal("1.5"), "consulting", True),
    ("Wireframes", Decimal("3.25"), "design", True),
    ("Internal planning", Decimal("0.75"), "consulting", False),
]


def _wait(timeout: float = 120) -> None:
    """Until the pushes are done. Entries logged together wait for the one that pushes
    their customer (a 30 s deferral); sweeping here runs them as soon as they are due."""
    active = (SyncJob.Status.PENDING, SyncJob.Status.RUNNING)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and SyncJob.objects.filter(
            entity__in=("time_entry", "invoice", "contact"), status__in=active).exists():
        time.sleep(1)
        outbox.sweep()


def _activities(sim, conn, entries: list[TimeEntry]) -> list[dict]:
    ids = dict(EntityLink.objects.filter(
        connection=conn, qbo_type="TimeActivity",
        object_id__in=[str(e.pk) for e in entries]).values_list("object_id", "qbo_id"))
    return [sim.store.get(conn.realm_id, "TimeActivity", ids[str(e.pk)])
            for e in entries if str(e.pk) in ids]


def push_time(sim, conn) -> None:
    """Map the workspace's worker to the company's first employee, log three entries on
    a task (the cluster pushes them), then invoice the task and send it."""
    with client_for(conn) as client:
        employee = client.query("SELECT * FROM Employee MAXRESULTS 1")[0]
    WorkerMapping.objects.update_or_create(
        connection=conn, worker_key="",
        defaults={"name_of": "Employee", "qbo_id": employee["Id"],
                  "qbo_name": employee["DisplayName"]})
    print(f"    worker mapping: (default) → Employee {employee['DisplayName']!r}")
    contact = Contact.objects.filter(workspace__slug=conn.workspace, archived=False).first()
    task = Task.objects.create(workspace=contact.workspace, contact=contact,
                               title=f"Discovery sprint for {contact.display_name}"[:200])
    today = timezone.localdate()
    entries = [TimeEntry.objects.create(task=task, description=text, hours=hours,
                                        rate=Decimal("95.00"), category=category,
                                        billable=billable, date=today)
               for text, hours, category, billable in ENTRIES]
    _wait()
    for record in _activities(sim, conn, entries):
        print(f"    time activity {record['Id']}: {record['Hours']} h {record['Minutes']} min "
              f"at {record.get('HourlyRate', 0)}, {record['BillableStatus']} "
              f"({record.get('Description', '')})")
    invoice = task.move_to_ready_to_invoice()
    invoice.send()
    _wait()
    billed = TimeEntry.objects.filter(task=task, billed=True).count()
    print(f"    invoice {invoice.number} sent for the task: {billed} entries billed in the app")
    for record in _activities(sim, conn, entries):
        print(f"    time activity {record['Id']} now {record['BillableStatus']}")
