"""What invoices, credit memos and refunds have in common: priced lines and totals."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models

from .. import money


class Category(models.TextChoices):
    """What a line (or a time entry) is for. Mapped to a QuickBooks item per category."""

    DESIGN = "design", "Design"
    DEVELOPMENT = "development", "Development"
    CONSULTING = "consulting", "Consulting"
    HOSTING = "hosting", "Hosting"
    SUPPORT = "support", "Support"


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


class PricedLine(models.Model):
    """One line on a document. ``discount`` is an absolute amount off the line;
    ``tax_rate`` is a percentage (20.00 = 20 %)."""

    position = models.PositiveIntegerField(default=0)
    category = models.CharField(
        max_length=20, choices=Category.choices, default=Category.CONSULTING
    )
    description = models.CharField(max_length=1000, blank=True)
    quantity = models.DecimalField(
        max_digits=12, decimal_places=4, default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    unit_price = money_field(default=Decimal("0"))
    discount = money_field(default=Decimal("0"), validators=[MinValueValidator(Decimal("0"))])
    tax_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Percent, e.g. 20.00 for 20 % VAT.",
    )

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description or self.get_category_display()

    @property
    def amount(self) -> Decimal:
        return money.line_amount(self)

    @property
    def net_amount(self) -> Decimal:
        return money.line_net(self)

    @property
    def tax_rate_key(self) -> str:
        return money.tax_rate_key(self.tax_rate)


class TotalsMixin:
    """Totals over ``self.lines``; reads the prefetch cache when there is one."""

    def _totals(self) -> dict[str, Decimal]:
        return money.totals(self.lines.all())

    @property
    def subtotal(self) -> Decimal:
        """Sum of line amounts after line discounts, before tax."""
        return self._totals()["subtotal"]

    @property
    def discount_total(self) -> Decimal:
        return self._totals()["discount"]

    @property
    def tax_total(self) -> Decimal:
        return self._totals()["tax"]

    @property
    def total(self) -> Decimal:
        return self._totals()["total"]
