"""Workflows that span several models: numbering and billing a task."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .models import Contact, Invoice, InvoiceLine, Task, TimeEntry, Workspace

INVOICE_PREFIX = "INV-"
CREDIT_MEMO_PREFIX = "CM-"
REFUND_PREFIX = "RF-"


def next_number(model: type[models.Model], workspace: Workspace, prefix: str) -> str:
    """The next free ``<prefix><n>`` document number in a workspace, e.g. INV-00042."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    numbers = model.objects.filter(workspace=workspace, number__startswith=prefix)
    highest = 0
    for number in numbers.values_list("number", flat=True):
        match = pattern.match(number)
        if match:
            highest = max(highest, int(match.group(1)))
    return f"{prefix}{highest + 1:05d}"


def lines_from_time_entries(
    entries: Iterable[TimeEntry], *, tax_rate: Decimal, start: int = 0
) -> list[InvoiceLine]:
    """Unsaved invoice lines, one per billable entry: hours as quantity, rate as price."""
    lines = []
    for entry in entries:
        if not entry.billable:
            continue
        lines.append(
            InvoiceLine(
                position=start + len(lines),
                category=entry.category,
                description=entry.description,
                quantity=entry.hours,
                unit_price=entry.rate,
                tax_rate=tax_rate,
            )
        )
    return lines


def default_tax_rate_for(contact: Contact) -> Decimal:
    """The workspace's rate for home customers; customers abroad are zero-rated."""
    workspace = contact.workspace
    if contact.country and contact.country != workspace.country:
        return Decimal("0.00")
    return workspace.default_tax_rate


def create_invoice_for_task(task: Task) -> Invoice:
    """A draft invoice for the task's billable time. The task must be saved."""
    workspace = task.workspace
    lines = lines_from_time_entries(
        task.time_entries.all(), tax_rate=default_tax_rate_for(task.contact)
    )
    if not lines:
        raise ValidationError(
            f"Task “{task.title}” has no billable time entries: log billable time before "
            "moving it to Ready to Invoice."
        )
    today = timezone.localdate()
    invoice = Invoice.objects.create(
        workspace=workspace,
        contact=task.contact,
        number=next_number(Invoice, workspace, INVOICE_PREFIX),
        issue_date=today,
        due_date=today + timedelta(days=workspace.payment_terms_days),
        currency=task.contact.billing_currency,
        memo=task.title,
    )
    for line in lines:
        line.invoice = invoice
    InvoiceLine.objects.bulk_create(lines)
    return invoice
