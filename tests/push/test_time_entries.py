"""Time entries → QuickBooks TimeActivity: created, updated and deleted through the
outbox, exactly once, billed through an invoice (docs/qbo-rules.md §5.10)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from example_project.billing.models import Task, TimeEntry
from qbo_sync.models import EntityLink, LinkStatus, SyncJob, WorkerMapping
from qbo_sync.testing.simulator.companies import US_REALM

from .conftest import item_ids, job_for, qbo, run_due, writes

DAY = date(2026, 7, 9)


@pytest.fixture
def worker(connected) -> WorkerMapping:
    """The workspace's default worker: the simulator's seeded employee (Id 1)."""
    return WorkerMapping.objects.create(connection=connected, name_of="Employee", qbo_id="1",
                                        qbo_name="Emily Employee")


@pytest.fixture
def task(contact) -> Task:
    return Task.objects.create(workspace=contact.workspace, contact=contact,
                               title="Website refresh")


def _entry(task: Task, **fields) -> TimeEntry:
    values = {"description": "Design review", "hours": Decimal("1.25"),
              "rate": Decimal("120.00"), "category": "design", "date": DAY, **fields}
    return TimeEntry.objects.create(task=task, **values)


def _activity(sim) -> dict:
    [record] = qbo(sim, "TimeActivity")
    return record


def test_a_time_entry_becomes_a_time_activity(qbo_simulator, connected, worker, task):
    entry = _entry(task)
    job = job_for(entry)
    assert (job.status, job.action) == ("succeeded", "create"), job.error_message
    record = _activity(qbo_simulator)
    [customer] = qbo(qbo_simulator, "Customer")  # pushed first, as for invoices
    assert record["CustomerRef"]["value"] == customer["Id"]
    assert record["NameOf"] == "Employee" and record["EmployeeRef"]["value"] == "1"
    assert record["ItemRef"]["value"] == item_ids(qbo_simulator)["Services"]
    assert (record["Hours"], record["Minutes"]) == (1, 15)
    assert record["HourlyRate"] == Decimal("120.00")
    assert (record["BillableStatus"], record["TxnDate"]) == ("Billable", "2026-07-09")
    assert record["Description"] == "Design review"
    link = EntityLink.objects.get(qbo_type="TimeActivity")
    assert (link.qbo_id, link.qbo_status) == (record["Id"], LinkStatus.ACTIVE)


def test_item_mapping_picks_the_service_item(qbo_simulator, connected, worker, task):
    items = item_ids(qbo_simulator)
    other = next(i for name, i in items.items() if name != "Services")
    connected.item_mappings.create(category="design", item_id=other)
    _entry(task)
    assert _activity(qbo_simulator)["ItemRef"]["value"] == other


def test_edit_updates_it_and_an_unwatched_save_costs_nothing(qbo_simulator, connected,
                                                             worker, task):
    entry = _entry(task)
    entry.hours = Decimal("2.5")
    entry.billable = False
    entry.save()
    job = job_for(entry)
    assert (job.status, job.action) == ("succeeded", "update"), job.error_message
    record = _activity(qbo_simulator)
    assert (record["Hours"], record["Minutes"], record["SyncToken"]) == (2, 30, "1")
    assert record["BillableStatus"] == "NotBillable"
    before = SyncJob.objects.count()
    TimeEntry.objects.get(pk=entry.pk).save()  # nothing watched changed
    assert SyncJob.objects.count() == before


def test_delete_removes_it_from_quickbooks(qbo_simulator, connected, worker, task):
    entry = _entry(task)
    pk = entry.pk
    entry.delete()
    job = SyncJob.objects.filter(entity="time_entry", object_id=str(pk)).order_by("-pk")[0]
    assert (job.status, job.action) == ("succeeded", "delete"), job.error_message
    assert qbo(qbo_simulator, "TimeActivity") == []
    assert EntityLink.objects.get(qbo_type="TimeActivity").qbo_status == LinkStatus.DELETED


def test_an_invoice_built_from_time_entries_marks_them_billed(qbo_simulator, connected,
                                                              worker, task):
    billable = _entry(task)
    internal = _entry(task, description="Internal sync", billable=False)
    invoice = task.move_to_ready_to_invoice()
    assert not TimeEntry.objects.get(pk=billable.pk).billed  # a draft bills nothing yet
    invoice.send()
    job = job_for(invoice)
    assert job.status == "succeeded", job.error_message
    assert "Marked 1 time entry billed" in job.error_message
    assert TimeEntry.objects.get(pk=billable.pk).billed
    assert not TimeEntry.objects.get(pk=internal.pk).billed
    statuses = {r["Description"]: r["BillableStatus"] for r in qbo(qbo_simulator,
                                                                    "TimeActivity")}
    assert statuses == {"Design review": "HasBeenBilled", "Internal sync": "NotBillable"}
    assert job_for(billable).action == "update"
    # Pushing the invoice again bills nothing twice.
    invoice.memo = "Website refresh (July)"
    invoice.save()
    assert "Marked" not in job_for(invoice).error_message


def test_no_worker_mapping_skips_with_the_way_to_turn_it_on(qbo_simulator, connected, task):
    entry = _entry(task)
    job = job_for(entry)
    assert job.status == "skipped"
    assert "worker mapping" in job.error_message
    assert qbo(qbo_simulator, "TimeActivity") == []


def test_an_unmapped_worker_without_a_default_fails_naming_the_fix(qbo_simulator, connected,
                                                                   task):
    WorkerMapping.objects.create(connection=connected, worker_key="maria", name_of="Vendor",
                                 qbo_id="1")
    assert job_for(_entry(task, worker="maria")).status == "succeeded"
    assert _activity(qbo_simulator)["VendorRef"]["value"] == "1"
    job = job_for(_entry(task, worker="sam", date=date(2026, 7, 8)))
    assert job.status == "failed"
    assert "worker 'sam'" in job.error_message and "worker mappings" in job.error_message


def test_preflight_refuses_an_entry_without_time_before_any_call(qbo_simulator, connected,
                                                                 worker, task):
    _entry(task, description="Warm-up")  # the customer is linked
    qbo_simulator.clear_log()
    job = job_for(_entry(task, hours=Decimal("0")))
    assert job.status == "failed"
    assert "has no time" in job.error_message and "log the time worked" in job.error_message
    assert writes(qbo_simulator) == []


def test_lost_response_creates_one_time_activity(qbo_simulator, connected, worker, task,
                                                 monkeypatch):
    from qbo_sync.push import write

    _entry(task, description="Warm-up")  # the customer is linked; another activity exists
    qbo_simulator.inject("drop", method="POST", path="/timeactivity$", after_execute=True)
    entry = _entry(task)
    job = job_for(entry)
    assert job.status == "pending"
    assert len(qbo(qbo_simulator, "TimeActivity")) == 2  # QBO did write it
    # The retry's requestid is new, as if QBO had forgotten the first: the probe finds it.
    original = write.request_id
    monkeypatch.setattr(write, "request_id", lambda *parts: original(*parts, "forgotten"))
    assert run_due(job) == "succeeded"
    assert len(qbo(qbo_simulator, "TimeActivity")) == 2
    job.refresh_from_db()
    assert "already created" in job.error_message
    assert EntityLink.objects.get(object_id=str(entry.pk),
                                  qbo_type="TimeActivity").qbo_id == job.qbo_id


def test_lost_response_then_an_edit_still_one_time_activity(qbo_simulator, connected, worker,
                                                            task, monkeypatch):
    from qbo_sync.push import write

    qbo_simulator.inject("drop", method="POST", path="/timeactivity$", after_execute=True)
    entry = _entry(task)
    assert job_for(entry).status == "pending"
    entry.hours = Decimal("3")
    entry.save()  # joins the waiting job
    original = write.request_id
    monkeypatch.setattr(write, "request_id", lambda *parts: original(*parts, "forgotten"))
    assert run_due(job_for(entry)) == "succeeded"
    record = _activity(qbo_simulator)
    assert (record["Hours"], record["Minutes"]) == (3, 0)
    assert "older version" in job_for(entry).error_message


def test_an_accountants_edit_is_reported_not_overwritten(qbo_simulator, connected, worker,
                                                         task):
    entry = _entry(task)
    record = _activity(qbo_simulator)
    qbo_simulator.accountant.edit_time_activity(US_REALM, record["Id"], {"Hours": 4})
    entry.description = "Design review and fixes"
    entry.save()
    job = job_for(entry)
    assert job.status == "failed"
    assert "changed in QuickBooks" in job.error_message and "Hours: 1 → 4" in job.error_message
    assert _activity(qbo_simulator)["Hours"] == 4


def test_deleted_after_a_lost_create_removes_what_the_create_made(qbo_simulator, connected,
                                                                  worker, task):
    qbo_simulator.inject("drop", method="POST", path="/timeactivity$", after_execute=True)
    entry = _entry(task)
    job = job_for(entry)
    assert job.status == "pending" and len(qbo(qbo_simulator, "TimeActivity")) == 1
    entry.delete()  # joins the waiting job
    job.refresh_from_db()
    assert run_due(job) == "succeeded"
    job.refresh_from_db()
    assert job.action == "delete", job.error_message
    assert "found it by what that attempt sent" in job.error_message
    assert qbo(qbo_simulator, "TimeActivity") == []
