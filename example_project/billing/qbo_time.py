"""The task board's time entries in QuickBooks: each one a TimeActivity for the task's
contact (qbo_sync's ``time_entry`` adapter kind). An invoice made from a task bills its
billable entries; once that invoice is in QuickBooks they are marked billed here."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from qbo_sync import adapters
from qbo_sync.data import TimeEntryData

from .models import Contact, Invoice, TimeEntry


def hours_and_minutes(hours: Decimal) -> tuple[int, int]:
    """Decimal hours (1.25) as whole hours and minutes (1, 15), to the nearest minute."""
    total = int((hours * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return divmod(max(total, 0), 60)


class TimeEntryAdapter(adapters.TimeEntryAdapter):
    model = "billing.TimeEntry"
    watched_fields = ("task", "description", "hours", "rate", "category", "billable", "date",
                      "billed", "worker")

    def workspace_of(self, obj: TimeEntry) -> str:
        return obj.task.workspace.slug

    def objects_for(self, workspace: str):
        return TimeEntry.objects.filter(task__workspace__slug=workspace).select_related(
            "task__workspace", "task__contact")

    def contact_of(self, obj: TimeEntry) -> Contact:
        return obj.task.contact

    def to_data(self, obj: TimeEntry) -> TimeEntryData:
        hours, minutes = hours_and_minutes(obj.hours)
        return TimeEntryData(
            key=str(obj.pk),
            workspace=obj.task.workspace.slug,
            date=obj.date or obj.created_at.date(),
            hours=hours,
            minutes=minutes,
            contact_key=str(obj.task.contact_id),
            hourly_rate=obj.rate,
            billable=obj.billable,
            billed=obj.billed,
            description=obj.description,
            category=obj.category,
            worker_key=obj.worker,
        )

    def billed_by(self, invoice: Invoice) -> Any:
        tasks = getattr(invoice, "prefetched_tasks", None)  # InvoiceAdapter.prefetch
        if tasks is not None:
            return [entry for task in tasks for entry in task.billable_entries]
        return TimeEntry.objects.filter(task__invoice=invoice, billable=True).select_related(
            "task__workspace", "task__contact")

    def mark_billed(self, obj: TimeEntry, *, invoice: Invoice) -> None:
        obj.billed = True
        obj.save(update_fields=["billed"])
