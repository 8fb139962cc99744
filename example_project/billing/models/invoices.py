"""Invoices, their lines and the payments received against them."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from .. import money
from .lines import PricedLine, TotalsMixin, money_field
from .workspace import Contact, Workspace

#: QuickBooks keeps at most 21 characters of a document number (docs/qbo-rules.md §5.2).
NUMBER_MAX_LENGTH = 21


class Invoice(TotalsMixin, models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invoices")
    contact = models.ForeignKey(Contact, on_delete=models.RESTRICT, related_name="invoices")
    number = models.CharField(max_length=NUMBER_MAX_LENGTH)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    issue_date = models.DateField(default=timezone.localdate)
    due_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, help_text="ISO 4217; the contact's currency.")
    memo = models.CharField(max_length=1000, blank=True, help_text="Shown to the customer.")
    notes = models.TextField(blank=True, help_text="Internal; not shown to the customer.")
    sent_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    overdue = models.BooleanField(default=False, help_text="Past its due date with an open "
                                  "balance, as QuickBooks says (set by qbo_sync's pull).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "number"], name="billing_invoice_number_unique"
            )
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs) -> None:
        if not self.currency and self.contact_id:
            self.currency = self.contact.billing_currency
        super().save(*args, **kwargs)

    # Money ----------------------------------------------------------------

    @property
    def amount_paid(self) -> Decimal:
        return sum((p.amount for p in self.payments.all()), money.ZERO)

    @property
    def balance(self) -> Decimal:
        """What is still owed; a void invoice owes nothing."""
        if self.status == self.Status.VOID:
            return money.ZERO
        return self.total - self.amount_paid

    # Life cycle -----------------------------------------------------------

    def send(self) -> None:
        """Issue a draft invoice. Tasks waiting on it move to Invoiced."""
        if self.status != self.Status.DRAFT:
            raise ValidationError(
                f"Invoice {self.number} is {self.get_status_display().lower()}; "
                "only draft invoices can be sent."
            )
        if not self.lines.exists():
            raise ValidationError(f"Add at least one line to invoice {self.number} before sending.")
        from .tasks import Task

        with transaction.atomic():
            self.status = self.Status.SENT
            self.sent_at = timezone.now()
            self.save(update_fields=["status", "sent_at", "updated_at"])
            for task in self.tasks.filter(status=Task.Status.READY_TO_INVOICE):
                task.status = Task.Status.INVOICED
                task.save(update_fields=["status", "updated_at"])

    def void(self) -> None:
        """Cancel a draft or sent invoice. A paid invoice must be refunded instead."""
        if self.status == self.Status.VOID:
            return
        if self.status == self.Status.PAID:
            raise ValidationError(
                f"Invoice {self.number} is paid; record a refund or credit memo instead "
                "of voiding it."
            )
        self.status = self.Status.VOID
        self.save(update_fields=["status", "updated_at"])

    def mark_paid(self, paid_at: date | datetime | None = None, note: str = "") -> bool:
        """Mark the invoice paid and complete the tasks it billed.

        Returns False if it was already paid (calling twice is harmless). ``note`` is
        added to each task; a default note names the invoice and date.
        """
        if self.status == self.Status.PAID:
            return False
        if self.status == self.Status.VOID:
            raise ValidationError(f"Invoice {self.number} is void and cannot be marked paid.")
        from .tasks import Task

        when = _as_datetime(paid_at)
        note = note or f"Invoice {self.number} paid on {when.date().isoformat()}."
        with transaction.atomic():
            self.status = self.Status.PAID
            self.paid_at = when
            self.save(update_fields=["status", "paid_at", "updated_at"])
            for task in self.tasks.exclude(status=Task.Status.COMPLETED):
                task.complete(note)
        return True

    def record_payment(
        self,
        amount: Decimal,
        *,
        date: date | None = None,
        method: str = "",
        reference: str = "",
        source: str = "app",
        external_ref: str = "",
        note: str = "",
    ) -> Payment:
        """Record money received; marks the invoice paid once nothing is owed.

        Raises ``ValidationError`` naming the field when a value does not fit (e.g. a
        reference from QuickBooks longer than the column), on every database."""
        with transaction.atomic():
            payment = Payment(
                invoice=self,
                amount=money.to_cents(Decimal(amount)),
                date=date or timezone.localdate(),
                method=method,
                reference=reference,
                source=source,
                external_ref=external_ref,
                note=note,
            )
            payment.full_clean()
            payment.save()
            # Aggregate rather than self.balance: a prefetched payments list is stale now.
            paid = self.payments.aggregate(s=models.Sum("amount"))["s"] or money.ZERO
            if self.status in (self.Status.DRAFT, self.Status.SENT) and paid >= self.total:
                self.mark_paid(payment.date, note=note)
        return payment


def _as_datetime(value: date | datetime | None) -> datetime:
    if value is None:
        return timezone.now()
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(12, 0))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


class InvoiceLine(PricedLine):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")

    class Meta(PricedLine.Meta):
        pass


class Payment(models.Model):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card"
        CHECK = "check", "Check"
        CASH = "cash", "Cash"
        OTHER = "other", "Other"

    class Source(models.TextChoices):
        APP = "app", "Recorded in the app"
        QUICKBOOKS = "quickbooks", "Recorded in QuickBooks"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payments")
    amount = money_field()
    date = models.DateField(default=timezone.localdate)
    method = models.CharField(max_length=20, choices=Method.choices, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.APP)
    # The QuickBooks Payment id of a payment pulled from QuickBooks.
    external_ref = models.CharField(max_length=64, blank=True, db_index=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["date", "id"]

    def __str__(self) -> str:
        return f"{self.amount} {self.invoice.currency} on {self.invoice.number}"
