"""Credit memos (money owed back to a contact) and refunds (money paid back)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .invoices import NUMBER_MAX_LENGTH, Invoice, Payment
from .lines import PricedLine, TotalsMixin
from .workspace import Contact, Workspace


class CreditMemo(TotalsMixin, models.Model):
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="credit_memos"
    )
    contact = models.ForeignKey(Contact, on_delete=models.RESTRICT, related_name="credit_memos")
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_memos",
        help_text="The invoice this credit relates to, if any.",
    )
    number = models.CharField(max_length=NUMBER_MAX_LENGTH)
    date = models.DateField(default=timezone.localdate)
    currency = models.CharField(max_length=3)
    memo = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "number"], name="billing_credit_memo_number_unique"
            )
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs) -> None:
        if not self.currency and self.contact_id:
            self.currency = self.contact.billing_currency
        super().save(*args, **kwargs)


class CreditMemoLine(PricedLine):
    credit_memo = models.ForeignKey(CreditMemo, on_delete=models.CASCADE, related_name="lines")

    class Meta(PricedLine.Meta):
        pass


class Refund(TotalsMixin, models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="refunds")
    contact = models.ForeignKey(Contact, on_delete=models.RESTRICT, related_name="refunds")
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="refunds",
        help_text="The invoice whose payment is being returned, if any.",
    )
    number = models.CharField(max_length=NUMBER_MAX_LENGTH)
    date = models.DateField(default=timezone.localdate)
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=20, choices=Payment.Method.choices, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    memo = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "number"], name="billing_refund_number_unique"
            )
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs) -> None:
        if not self.currency and self.contact_id:
            self.currency = self.contact.billing_currency
        super().save(*args, **kwargs)


class RefundLine(PricedLine):
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")

    class Meta(PricedLine.Meta):
        pass
