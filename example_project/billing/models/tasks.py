"""The task board: work for a contact, logged as time, billed once ready."""

from __future__ import annotations

from decimal import Decimal

from django.db import models, transaction

from .. import money
from .invoices import Invoice
from .lines import Category, money_field
from .workspace import Contact, Workspace


class Task(models.Model):
    class Status(models.TextChoices):
        BACKLOG = "backlog", "Backlog"
        IN_PROGRESS = "in_progress", "In progress"
        READY_TO_INVOICE = "ready_to_invoice", "Ready to invoice"
        INVOICED = "invoiced", "Invoiced"
        COMPLETED = "completed", "Completed"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    contact = models.ForeignKey(Contact, on_delete=models.RESTRICT, related_name="tasks")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.BACKLOG, db_index=True
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        """A task that reaches Ready to Invoice without an invoice gets a draft one,
        however it got there (the board, the admin, an API)."""
        if self.status == self.Status.READY_TO_INVOICE and self.invoice_id is None:
            from ..services import create_invoice_for_task

            with transaction.atomic():
                if self.pk is None:  # the invoice is built from saved time entries
                    super().save(*args, **kwargs)
                    kwargs.pop("force_insert", None)
                self.invoice = create_invoice_for_task(self)
                if kwargs.get("update_fields") is not None:
                    kwargs["update_fields"] = {*kwargs["update_fields"], "invoice"}
                super().save(*args, **kwargs)
            return
        super().save(*args, **kwargs)

    def move_to_ready_to_invoice(self) -> Invoice:
        """Move the task to Ready to Invoice; returns its (new) draft invoice."""
        self.status = self.Status.READY_TO_INVOICE
        self.save()
        return self.invoice

    def complete(self, note: str = "") -> None:
        self.status = self.Status.COMPLETED
        if note:
            self.note = f"{self.note}\n{note}".strip()
        self.save(update_fields=["status", "note", "updated_at"])


class TimeEntry(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="time_entries")
    description = models.CharField(max_length=500)
    hours = models.DecimalField(max_digits=12, decimal_places=4)
    rate = money_field(help_text="Hourly rate in the contact's currency.")
    category = models.CharField(
        max_length=20, choices=Category.choices, default=Category.DEVELOPMENT
    )
    billable = models.BooleanField(default=True)
    date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set once the task's invoice reached QuickBooks (qbo_sync's mark_billed hook); the
    # entry's time activity there then says HasBeenBilled.
    billed = models.BooleanField(default=False)
    # Who did the work: a key the workspace maps to a QuickBooks employee or vendor
    # (empty: the workspace's default worker).
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date", "id"]
        verbose_name_plural = "time entries"

    def __str__(self) -> str:
        return f"{self.description} ({self.hours} h)"

    @property
    def amount(self) -> Decimal:
        return money.to_cents(self.hours * self.rate) if self.billable else money.ZERO
