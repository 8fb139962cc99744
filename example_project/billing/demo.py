"""Deterministic demo data for the example product (``manage.py seed_demo``).

Everything is written with ``bulk_create``: no model ``save()`` runs, so no save hooks
or signal receivers fire and nothing is queued for QuickBooks while seeding.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from . import demo_data as words
from .demo_docs import DocumentBuilder, spread
from .models import Contact, Invoice, InvoiceLine, Membership, Payment, Task, Workspace

#: slug → (name, country, home currency, default tax rate, terms, {currency: share})
WORKSPACES = {
    "default": ("Acme Studio (US)", "US", "USD", Decimal("0.00"), 30, {"USD": 1}),
    "uk": ("Acme Studio UK", "GB", "GBP", Decimal("20.00"), 14, {"GBP": 7, "EUR": 2, "USD": 1}),
}
#: username → (superuser?, role in each workspace)
USERS = {
    "admin": (True, {"default": "admin", "uk": "admin"}),
    "manager": (False, {"default": "manager", "uk": "manager"}),
    "member": (False, {"default": "member", "uk": "member"}),
}
EU_COUNTRIES = ["IE", "DE", "FR", "NL"]


class DemoBuilder:
    def __init__(self, contacts: int = 300, invoices: int = 500, *, seed: int = 2024,
                 today: date | None = None) -> None:
        if contacts < 2:
            raise ValueError("--contacts must be at least 2 (one per demo workspace).")
        if invoices < 0:
            raise ValueError("--invoices cannot be negative.")
        self.n_contacts, self.n_invoices = contacts, invoices
        self.rng = random.Random(seed)
        self.today = today or timezone.localdate()

    # Entry points ---------------------------------------------------------

    @staticmethod
    def reset() -> None:
        """Delete the demo workspaces and everything in them."""
        Workspace.objects.filter(slug__in=WORKSPACES).delete()

    @staticmethod
    def already_seeded() -> bool:
        return Contact.objects.filter(workspace__slug__in=WORKSPACES).exists()

    @transaction.atomic
    def build(self) -> dict[str, object]:
        self.workspaces = self._workspaces()
        self._users()
        contacts = self._contacts()
        DocumentBuilder(self, contacts).build()
        return self.summary()

    # Workspaces, users, contacts ------------------------------------------

    def _workspaces(self) -> dict[str, Workspace]:
        result = {}
        for slug, (name, country, currency, tax, terms, _) in WORKSPACES.items():
            result[slug], _ = Workspace.objects.update_or_create(
                slug=slug,
                defaults={"name": name, "country": country, "home_currency": currency,
                          "default_tax_rate": tax, "payment_terms_days": terms},
            )
        return result

    def _users(self) -> None:
        user_model = get_user_model()
        staff_perms = Permission.objects.filter(
            content_type__app_label__in=["billing", "qbo_sync"]
        )
        for username, (superuser, roles) in USERS.items():
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(username=username, email=f"{username}@acme-studio.example")
            user.is_superuser = superuser
            user.is_staff = username != "member"
            user.set_password(username)
            user.save()
            if username == "manager":
                user.user_permissions.set(staff_perms)
            for slug, role in roles.items():
                Membership.objects.update_or_create(
                    user=user, workspace=self.workspaces[slug], defaults={"role": role}
                )

    def _contacts(self) -> list[Contact]:
        uk_count = max(1, self.n_contacts * 2 // 5)
        plan = [("default", "USD")] * (self.n_contacts - uk_count)
        plan += [("uk", cur) for cur in spread(uk_count, WORKSPACES["uk"][5])]
        taken: dict[str, set[str]] = {slug: set() for slug in WORKSPACES}
        contacts = []
        for i, (slug, currency) in enumerate(plan):
            country = {"USD": "US", "GBP": "GB", "EUR": self.rng.choice(EU_COUNTRIES)}[currency]
            name, company = self._name(country, taken[slug])
            city, region, postal = self.rng.choice(words.CITIES[country])
            suffixes, phone = words.COUNTRY_STYLE[country]
            handle = slugify(company or name) or f"contact-{i}"
            contacts.append(Contact(
                workspace=self.workspaces[slug], display_name=name, company_name=company,
                email=f"{'billing' if company else 'hello'}@{handle}.example",
                phone=phone.format(n=i % 100),
                address_line1=f"{self.rng.randint(1, 999)} {self.rng.choice(words.STREETS)}",
                address_line2=self.rng.choice(["", "", "", f"Suite {self.rng.randint(2, 40)}"]),
                city=city, region=region, postal_code=postal, country=country,
                currency=currency,
            ))
        return Contact.objects.bulk_create(contacts)

    def _name(self, country: str, taken: set[str]) -> tuple[str, str]:
        """(display name, company name); unique per workspace, ignoring case, because
        QuickBooks display names are unique (docs/qbo-rules.md §5.1)."""
        rng = self.rng
        if rng.random() < 0.75:
            suffixes = words.COUNTRY_STYLE[country][0]
            company = (f"{rng.choice(words.COMPANY_WORDS)} {rng.choice(words.COMPANY_TRADES)} "
                       f"{rng.choice(suffixes)}")
            name = company
        else:
            company = ""
            name = f"{rng.choice(words.FIRST_NAMES)} {rng.choice(words.LAST_NAMES)}"
        candidate, n = name, 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{name} {n}"
        taken.add(candidate.lower())
        return candidate, (candidate if company else "")

    # Helpers shared with the document builder -----------------------------

    def day_between(self, start: date, end: date) -> date:
        end = max(start, min(end, self.today))
        return start + timedelta(days=self.rng.randint(0, (end - start).days))

    @staticmethod
    def noon(day: date) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(12, 0)))

    def next_number(self, counters: Counter, slug: str, prefix: str) -> str:
        counters[(slug, prefix)] += 1
        return f"{prefix}{counters[(slug, prefix)]:05d}"

    def summary(self) -> dict[str, object]:
        invoices = Invoice.objects.filter(workspace__slug__in=WORKSPACES)
        return {
            "workspaces": {
                slug: {
                    "contacts": Contact.objects.filter(workspace__slug=slug).count(),
                    "invoices": invoices.filter(workspace__slug=slug).count(),
                    "currencies": sorted(
                        set(invoices.filter(workspace__slug=slug)
                            .values_list("currency", flat=True))
                    ),
                }
                for slug in WORKSPACES
            },
            "invoice_status": dict(Counter(invoices.values_list("status", flat=True))),
            "lines": InvoiceLine.objects.filter(invoice__in=invoices).count(),
            "payments": Payment.objects.filter(invoice__in=invoices).count(),
            "credit_memos": sum(ws.credit_memos.count() for ws in self.workspaces.values()),
            "refunds": sum(ws.refunds.count() for ws in self.workspaces.values()),
            "tasks": dict(Counter(
                Task.objects.filter(workspace__slug__in=WORKSPACES)
                .values_list("status", flat=True)
            )),
            "users": list(USERS),
        }
