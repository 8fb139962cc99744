"""Workspaces (one per business using the product), who belongs to them, and contacts."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models


class Workspace(models.Model):
    """A business using the product. ``slug`` is the workspace key qbo_sync uses."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. US or GB.")
    home_currency = models.CharField(max_length=3, help_text="ISO 4217, e.g. USD or GBP.")
    default_tax_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"),
        help_text="Percent applied to lines billed from tasks, e.g. 20.00.",
    )
    payment_terms_days = models.PositiveIntegerField(default=30)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MANAGER = "manager", "Manager"
        MEMBER = "member", "Member"

    #: Roles that may manage settings and integrations.
    MANAGING_ROLES = (Role.ADMIN, Role.MANAGER)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="billing_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.workspace} ({self.role})"


class Contact(models.Model):
    """Someone the workspace bills."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contacts")
    display_name = models.CharField(max_length=200)
    company_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)
    address_line1 = models.CharField(max_length=200, blank=True)
    address_line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True, help_text="State, county or province.")
    postal_code = models.CharField(max_length=30, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2.")
    currency = models.CharField(
        max_length=3, blank=True, help_text="ISO 4217. Blank: the workspace's home currency."
    )
    archived = models.BooleanField(default=False, help_text="No longer billed; kept for the "
                                   "record (its QuickBooks customer is made inactive).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name"]
        indexes = [models.Index(fields=["workspace", "display_name"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def billing_currency(self) -> str:
        return self.currency or self.workspace.home_currency
