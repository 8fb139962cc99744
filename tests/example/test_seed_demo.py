"""``manage.py seed_demo``: the promised mix, determinism, --reset, and no sync traffic."""

from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from example_project.billing.models import (
    Contact,
    CreditMemo,
    Invoice,
    InvoiceLine,
    Payment,
    Refund,
    Task,
    TimeEntry,
    Workspace,
)
from example_project.billing.qbo import can_manage_integration
from qbo_sync.models import SyncJob

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--contacts", "40", "--invoices", "80", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    """What the data looks like, without database ids."""
    return {
        "contacts": sorted(Contact.objects.values_list("workspace__slug", "display_name",
                                                       "currency", "country")),
        "invoices": sorted(Invoice.objects.values_list("workspace__slug", "number", "status",
                                                       "currency", "contact__display_name")),
        "lines": sorted(InvoiceLine.objects.values_list("invoice__number", "quantity",
                                                        "unit_price", "discount", "tax_rate")),
        "payments": sorted(Payment.objects.values_list("invoice__number", "amount")),
    }


def test_seed_produces_the_promised_mix():
    output = seed()
    assert "Demo data ready" in output and "workspace uk" in output

    us, uk = Workspace.objects.get(slug="default"), Workspace.objects.get(slug="uk")
    assert (us.country, us.home_currency, uk.country, uk.home_currency) == (
        "US", "USD", "GB", "GBP")
    assert Contact.objects.count() == 40
    assert Invoice.objects.count() == 80
    assert set(Invoice.objects.values_list("status", flat=True)) == {
        "draft", "sent", "paid", "void"}
    assert set(uk.invoices.values_list("currency", flat=True)) == {"GBP", "EUR", "USD"}
    assert set(us.invoices.values_list("currency", flat=True)) == {"USD"}
    assert set(InvoiceLine.objects.filter(invoice__workspace=uk)
               .values_list("tax_rate", flat=True)) == {Decimal("20"), Decimal("5"), Decimal("0")}
    assert set(InvoiceLine.objects.filter(invoice__workspace=us)
               .values_list("tax_rate", flat=True)) == {Decimal("8.25"), Decimal("0")}
    assert InvoiceLine.objects.filter(discount__gt=0).exists()
    assert len(set(InvoiceLine.objects.values_list("category", flat=True))) >= 4
    per_invoice = Counter(InvoiceLine.objects.values_list("invoice_id", flat=True))
    assert max(per_invoice.values()) <= 6 and len(per_invoice) == 80
    assert CreditMemo.objects.exists() and Refund.objects.exists()
    assert TimeEntry.objects.filter(billable=False).exists()
    assert {"backlog", "in_progress"} <= set(Task.objects.values_list("status", flat=True))


def test_seeded_money_adds_up():
    seed()
    invoices = Invoice.objects.prefetch_related("lines", "payments")
    for invoice in invoices:
        assert invoice.currency == invoice.contact.currency  # QuickBooks requires it
        if invoice.status == "paid":
            assert invoice.balance == 0 and invoice.paid_at is not None
        else:
            assert invoice.paid_at is None
        if invoice.status in ("draft", "void"):
            assert invoice.amount_paid == 0
    assert any(i.status == "sent" and 0 < i.amount_paid < i.total for i in invoices)
    for task in Task.objects.filter(status="completed", invoice__isnull=False):
        assert task.invoice.status == "paid" and task.invoice.number in task.note


def test_display_names_are_unique_and_quickbooks_safe():
    seed("--contacts", "120")
    for slug in ("default", "uk"):
        names = [n.lower() for n in Contact.objects.filter(workspace__slug=slug)
                 .values_list("display_name", flat=True)]
        assert len(names) == len(set(names))
        assert not any(c in n for n in names for c in ":\t\n")
    assert all(e.endswith(".example") for e in Contact.objects.values_list("email", flat=True))


def test_users_and_roles():
    seed()
    assert authenticate(username="admin", password="admin").is_superuser
    manager = authenticate(username="manager", password="manager")
    member = authenticate(username="member", password="member")
    assert can_manage_integration(manager, "uk") and can_manage_integration(manager, "default")
    assert not can_manage_integration(member, "default")


def test_rerun_without_reset_changes_nothing_and_reset_rebuilds_the_same_data():
    seed()
    before = snapshot()
    assert "already exists" in seed()
    assert snapshot() == before
    seed("--reset")
    assert snapshot() == before
    assert Invoice.objects.count() == 80 and Workspace.objects.count() == 2


def test_seeding_queues_nothing_for_quickbooks():
    seed()
    assert SyncJob.objects.count() == 0


def test_rejects_too_few_contacts():
    with pytest.raises(CommandError, match="at least 2"):
        call_command("seed_demo", "--contacts", "1", stdout=StringIO())
