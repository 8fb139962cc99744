"""How this product plugs into qbo_sync: one adapter per synced model, plus the two host
hooks named in settings (which workspace a request acts on, who may manage the
integration). See qbo_sync/adapters.py for the contract."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from qbo_sync import adapters
from qbo_sync.data import (
    AddressData,
    ContactData,
    CreditMemoData,
    ImportedCustomer,
    InvoiceData,
    LineData,
    PaymentData,
    PulledPayment,
    RefundData,
    Settlement,
)

from . import money
from .models import (
    Contact,
    CreditMemo,
    Invoice,
    Membership,
    Payment,
    Refund,
    Task,
    TimeEntry,
    Workspace,
)

DEFAULT_WORKSPACE = "default"
SESSION_KEY = "billing_workspace"


def _lines(document: Any) -> tuple[LineData, ...]:
    return tuple(
        LineData(
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            category=line.category,
            tax_rate=line.tax_rate_key,  # "20.00", "8.25", "0.00": stable mapping keys
            discount=line.discount,
        )
        for line in document.lines.all()
    )


def _figures(document: Any) -> dict[str, Any]:
    """The document's own tax and total, which qbo_sync compares with QuickBooks'."""
    totals = money.totals(document.lines.all())
    return {"tax_total": totals["tax"], "total": totals["total"]}


def _key(pk: int | None) -> str:
    return "" if pk is None else str(pk)


class ContactAdapter(adapters.ContactAdapter):
    model = "billing.Contact"
    # Saves that touch nothing QuickBooks keeps don't queue a push.
    watched_fields = (
        "display_name", "company_name", "email", "phone", "address_line1", "address_line2",
        "city", "region", "postal_code", "country", "currency", "archived",
    )

    def workspace_of(self, obj: Contact) -> str:
        return obj.workspace.slug

    def objects_for(self, workspace: str):
        return Contact.objects.filter(workspace__slug=workspace).select_related("workspace")

    def to_data(self, obj: Contact) -> ContactData:
        address_parts = (
            obj.address_line1, obj.address_line2, obj.city, obj.region, obj.postal_code,
            obj.country,
        )
        address = None
        if any(address_parts):
            address = AddressData(*address_parts)
        return ContactData(
            key=_key(obj.pk),
            workspace=obj.workspace.slug,
            display_name=obj.display_name,
            email=obj.email,
            phone=obj.phone,
            company_name=obj.company_name,
            currency=obj.billing_currency,
            billing_address=address,
            active=not obj.archived,
        )

    def update_contact(self, obj: Contact, data: dict[str, Any]) -> None:
        """A customer edited in QuickBooks (QBO_SYNC["PULL_CUSTOMER_CHANGES"]): the keys
        are this model's field names already."""
        for field, value in data.items():
            setattr(obj, field, value)
        obj.full_clean(validate_unique=False)
        obj.save(update_fields=[*data, "updated_at"])
    # Customer import: sub-customers and inactive customers are skipped (the defaults,
    # import_sub_customers and import_inactive off); the rest become contacts.
    def create_contact(self, customer: ImportedCustomer) -> Contact:
        workspace = Workspace.objects.get(slug=customer.workspace)
        address = customer.billing_address or AddressData()
        # The first address of a list: the contact keeps one email.
        email = customer.email.split(",")[0].strip()
        currency = "" if customer.currency in ("", workspace.home_currency) \
            else customer.currency
        return Contact.objects.create(
            workspace=workspace, display_name=customer.display_name[:200],
            company_name=customer.company_name[:100], email=email[:254],
            phone=customer.phone[:30], address_line1=address.line1[:200],
            address_line2=address.line2[:200], city=address.city[:100],
            region=address.region[:100], postal_code=address.postal_code[:30],
            country=address.country[:2] if len(address.country) == 2 else "",
            currency=currency[:3], archived=not customer.active,
        )


class InvoiceAdapter(adapters.InvoiceAdapter):
    model = "billing.Invoice"
    # Status moves (sent → paid) are not edits; qbo_sync tracks status itself.
    watched_fields = ("number", "contact", "issue_date", "due_date", "currency", "memo", "notes")
    related_models = {"billing.InvoiceLine": "invoice"}
    # What pushing an invoice reads: its lines and payments, and the billable time of
    # its tasks (``qbo_time.TimeEntryAdapter.billed_by``).
    prefetch = ("lines", "payments", Prefetch(
        "tasks", to_attr="prefetched_tasks",
        queryset=Task.objects.select_related("workspace", "contact").prefetch_related(
            Prefetch("time_entries", to_attr="billable_entries",
                     queryset=TimeEntry.objects.filter(billable=True)))))

    def workspace_of(self, obj: Invoice) -> str:
        return obj.workspace.slug

    def objects_for(self, workspace: str):
        return Invoice.objects.filter(workspace__slug=workspace).select_related(
            "workspace", "contact", "contact__workspace")

    def should_sync(self, obj: Invoice) -> bool:
        # Drafts are private until sent; QuickBooks sees an invoice from then on.
        return obj.status != Invoice.Status.DRAFT

    def status_of(self, obj: Invoice) -> str:
        return obj.status  # our values are already draft / sent / paid / void

    def issue_date_of(self, obj: Invoice) -> date:
        return obj.issue_date

    def contact_of(self, obj: Invoice) -> Contact:
        return obj.contact

    def to_data(self, obj: Invoice) -> InvoiceData:
        return InvoiceData(
            key=_key(obj.pk),
            workspace=obj.workspace.slug,
            number=obj.number,
            status=obj.status,
            contact_key=_key(obj.contact_id),
            issue_date=obj.issue_date,
            due_date=obj.due_date,
            currency=obj.currency,
            lines=_lines(obj),
            memo=obj.memo,
            private_note=obj.notes,
            balance=obj.balance,
            **_figures(obj),
        )

    def mark_paid(self, obj: Invoice, *, paid_at: Any, source: str = "quickbooks") -> None:
        if obj.status in (Invoice.Status.PAID, Invoice.Status.VOID):
            return  # already settled here; a void invoice never becomes paid
        when = _parse_when(paid_at)
        note = ""
        if source == "quickbooks":
            note = f"Invoice {obj.number} paid in QuickBooks on {_day(when)}."
        obj.mark_paid(when, note=note)

    def mark_overdue(self, obj: Invoice, overdue: bool) -> None:
        """The overdue flag the invoice list shows; an overdue flag is not an edit, so
        it queues no push (``overdue`` is no watched field)."""
        if obj.overdue != overdue:
            obj.overdue = overdue
            obj.save(update_fields=["overdue", "updated_at"])

    def settlement_of(self, obj: Invoice) -> Settlement:
        """Marked paid without a payment record (the admin's "Mark selected invoices
        paid"): paid on the day it was marked, by an unrecorded method."""
        when = obj.paid_at or timezone.now()
        return Settlement(date=timezone.localdate(when), method="Recorded as paid in the app")

    def accept_quickbooks(self, obj: Invoice, record: dict) -> None:
        """Reconciliation's "accept QuickBooks' version": a void or delete there voids
        the invoice here; otherwise the memo and due date are taken. Lines are not:
        the app prices its own work, so a line edited in QuickBooks is pushed back."""
        if str(record.get("status", "")).lower() == "deleted" or (
            str(record.get("PrivateNote") or "").startswith("Voided")
        ):
            obj.void()  # a paid invoice refuses, and says why (HostDataError)
            return
        obj.memo = str((record.get("CustomerMemo") or {}).get("value") or "")[:1000]
        due = parse_date(str(record.get("DueDate") or ""))
        obj.due_date = due or obj.due_date
        obj.save(update_fields=["memo", "due_date", "updated_at"])

    def payments_of(self, obj: Invoice):
        # Sorted here, so a prefetched list is used as it is.
        return sorted(obj.payments.all(), key=lambda payment: (payment.date, payment.pk))

    def record_payment(self, obj: Invoice, payment: PulledPayment) -> Payment:
        """Record a QuickBooks payment once per invoice. One QuickBooks payment can be
        split over several invoices, so the id is unique per invoice, not globally."""
        with transaction.atomic():
            invoice = Invoice.objects.select_for_update().get(pk=obj.pk)
            existing = invoice.payments.filter(external_ref=payment.qbo_id).first()
            if existing is not None:
                return existing
            return invoice.record_payment(
                payment.amount,
                date=payment.date,
                method=payment_method_from_qbo(payment.method),
                reference=payment.reference,
                source=Payment.Source.QUICKBOOKS,
                external_ref=payment.qbo_id,
                note=f"Recorded in QuickBooks (payment {payment.qbo_id}).",
            )


class PaymentAdapter(adapters.PaymentAdapter):
    model = "billing.Payment"

    def workspace_of(self, obj: Payment) -> str:
        return obj.invoice.workspace.slug

    def should_sync(self, obj: Payment) -> bool:
        # Payments that came from QuickBooks are already there; pushing them would echo.
        return obj.source == Payment.Source.APP

    def invoice_of(self, obj: Payment) -> Invoice:
        return obj.invoice

    def qbo_id_of(self, obj: Payment) -> str:
        return obj.external_ref if obj.source == Payment.Source.QUICKBOOKS else ""

    def to_data(self, obj: Payment) -> PaymentData:
        invoice = obj.invoice
        return PaymentData(
            key=_key(obj.pk),
            workspace=invoice.workspace.slug,
            invoice_key=_key(invoice.pk),
            contact_key=_key(invoice.contact_id),
            amount=obj.amount,
            date=obj.date,
            currency=invoice.currency,
            method=obj.method,
            reference=obj.reference,
        )


class CreditMemoAdapter(adapters.CreditMemoAdapter):
    model = "billing.CreditMemo"
    related_models = {"billing.CreditMemoLine": "credit_memo"}

    def workspace_of(self, obj: CreditMemo) -> str:
        return obj.workspace.slug

    def to_data(self, obj: CreditMemo) -> CreditMemoData:
        return CreditMemoData(
            key=_key(obj.pk),
            workspace=obj.workspace.slug,
            number=obj.number,
            contact_key=_key(obj.contact_id),
            date=obj.date,
            currency=obj.currency,
            lines=_lines(obj),
            invoice_key=_key(obj.invoice_id),
            memo=obj.memo,
            **_figures(obj),
        )


class RefundAdapter(adapters.RefundAdapter):
    model = "billing.Refund"
    related_models = {"billing.RefundLine": "refund"}

    def workspace_of(self, obj: Refund) -> str:
        return obj.workspace.slug

    def to_data(self, obj: Refund) -> RefundData:
        return RefundData(
            key=_key(obj.pk),
            workspace=obj.workspace.slug,
            number=obj.number,
            contact_key=_key(obj.contact_id),
            date=obj.date,
            currency=obj.currency,
            lines=_lines(obj),
            method=obj.method,
            reference=obj.reference,
            memo=obj.memo,
            **_figures(obj),
        )


# Host hooks ----------------------------------------------------------------


#: Where a user picks the workspace the session acts on (``billing.views``).
SWITCH_PATH = "/workspace/"
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,100}")


def workspace_for_request(request: Any) -> str:
    """The workspace a request acts on: always one the user belongs to.

    1. ``?workspace=<slug>``, for this request only (links to a workspace's screen);
       a GET never changes what the session acts on;
    2. else the workspace chosen with an explicit switch (POST ``/workspace/``,
       :func:`switch_workspace`), kept in the session;
    3. else the first workspace where the user is admin or manager, else the first
       they belong to.

    A workspace the user does not belong to, asked for or remembered from before they
    left it, is refused with ``PermissionDenied`` and a message: never swapped for
    another workspace. Superusers may use any existing workspace.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise PermissionDenied("Sign in to act on a workspace.")
    query = getattr(request, "GET", None) or {}
    requested = query.get("workspace")
    if requested is not None:
        if not _may_use(user, requested):
            raise PermissionDenied(_not_yours(requested))
        return requested
    session = getattr(request, "session", None)
    remembered = session.get(SESSION_KEY) if session is not None else None
    if remembered:
        if not _may_use(user, remembered):
            raise PermissionDenied(
                f"{_not_yours(remembered)} It was this session's workspace; choose another "
                f"at {SWITCH_PATH} (or sign out and in again).")
        return remembered
    return _own_workspace(user)


def switch_workspace(request: Any, slug: str) -> str:
    """The explicit switch: from now on ``request.session`` acts on ``slug``, which the
    user must belong to (``PermissionDenied`` otherwise; the session is left as it was).
    Called by the POST view only."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise PermissionDenied("Sign in to choose a workspace.")
    if not _may_use(user, slug):
        raise PermissionDenied(_not_yours(slug))
    request.session[SESSION_KEY] = slug
    return slug


def workspaces_of(user: Any) -> list[Workspace]:
    """The workspaces ``user`` may act on (every one, for superusers)."""
    if user.is_superuser:
        return list(Workspace.objects.order_by("name"))
    return list(Workspace.objects.filter(memberships__user=user).order_by("name"))


def _own_workspace(user: Any) -> str:
    """The user's first managed workspace, else the first they belong to."""
    memberships = Membership.objects.filter(user=user).order_by("workspace_id")
    slug = (memberships.filter(role__in=Membership.MANAGING_ROLES)
            .values_list("workspace__slug", flat=True).first()
            or memberships.values_list("workspace__slug", flat=True).first())
    if slug:
        return slug
    if user.is_superuser:
        if Workspace.objects.filter(slug=DEFAULT_WORKSPACE).exists():
            return DEFAULT_WORKSPACE
        return (Workspace.objects.order_by("pk").values_list("slug", flat=True).first()
                or DEFAULT_WORKSPACE)
    raise PermissionDenied(
        "You are not a member of any workspace: ask a workspace admin to add you.")


def _not_yours(slug: str) -> str:
    return (f"You are not a member of workspace {str(slug)[:100]!r} (or it does not "
            "exist), so this request was not carried out in any workspace.")


def can_manage_integration(user: Any, workspace: str) -> bool:
    """Superusers, and admins or managers of ``workspace``."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        user=user, workspace__slug=workspace, role__in=Membership.MANAGING_ROLES
    ).exists()


def alert_recipients(workspace: str) -> list[str]:
    """Where qbo_sync's alerts for ``workspace`` go: its admins' and managers' e-mail
    addresses (QBO_SYNC["ALERTS"]["RECIPIENTS"]), in one query."""
    return list(Membership.objects.filter(
        workspace__slug=workspace, role__in=Membership.MANAGING_ROLES, user__is_active=True)
        .exclude(user__email="").order_by("user_id").values_list("user__email", flat=True))


def _may_use(user: Any, slug: Any) -> bool:
    # A value no slug can be (NUL, too long, not text) is refused before any query:
    # PostgreSQL cannot even compare text holding NUL.
    if not isinstance(slug, str) or not _SLUG.fullmatch(slug):
        return False
    if user.is_superuser:
        return Workspace.objects.filter(slug=slug).exists()
    return Membership.objects.filter(user=user, workspace__slug=slug).exists()


# QuickBooks payment method names are free text per company (Cash, Check, Visa, …).
_METHOD_WORDS = {
    Payment.Method.CASH: ("cash",),
    Payment.Method.CHECK: ("check", "cheque"),
    Payment.Method.CARD: ("card", "visa", "mastercard", "amex", "american express", "discover"),
    Payment.Method.BANK_TRANSFER: ("bank", "transfer", "ach", "eft", "wire", "bacs", "sepa"),
}


def payment_method_from_qbo(name: str) -> str:
    """Our payment method for a QuickBooks payment method name ("" when unknown)."""
    lowered = (name or "").lower()
    if not lowered:
        return ""
    for method, words in _METHOD_WORDS.items():
        if any(word in lowered for word in words):
            return method
    return Payment.Method.OTHER


def _parse_when(value: Any) -> date | datetime | None:
    if isinstance(value, str):
        return parse_datetime(value) or parse_date(value)
    return value


def _day(value: date | datetime | None) -> str:
    if value is None:
        return timezone.localdate().isoformat()
    return (value.date() if isinstance(value, datetime) else value).isoformat()
