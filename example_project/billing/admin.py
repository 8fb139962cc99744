"""Admin for the example product: enough to run the business and exercise the sync."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import (
    Contact,
    CreditMemo,
    CreditMemoLine,
    Invoice,
    InvoiceLine,
    Membership,
    Payment,
    Refund,
    RefundLine,
    Task,
    TimeEntry,
    Workspace,
)

LINE_FIELDS = ("position", "category", "description", "quantity", "unit_price", "discount",
               "tax_rate")


def _run(modeladmin: admin.ModelAdmin, request: HttpRequest, objects, action, done: str) -> None:
    """Apply ``action`` to each object; report successes and each fixable failure."""
    count = 0
    for obj in objects:
        try:
            action(obj)
        except ValidationError as err:
            modeladmin.message_user(request, f"{obj}: {' '.join(err.messages)}", messages.ERROR)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, f"{count} {done}.", messages.SUCCESS)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "country", "home_currency", "default_tax_rate"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "workspace", "role"]
    list_filter = ["workspace", "role"]
    search_fields = ["user__username", "workspace__name"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["display_name", "email", "workspace", "country", "currency"]
    list_filter = ["workspace", "currency", "country"]
    search_fields = ["display_name", "company_name", "email"]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    fields = LINE_FIELDS
    extra = 0


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ["date", "amount", "method", "reference", "source", "external_ref", "note"]
    readonly_fields = ["source", "external_ref"]
    extra = 0


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "contact", "workspace", "status", "issue_date", "currency",
                    "total", "balance", "due_date", "overdue"]
    list_filter = ["workspace", "status", "overdue", "currency", "issue_date"]
    search_fields = ["number", "contact__display_name"]
    date_hierarchy = "issue_date"
    list_select_related = ["contact", "workspace"]
    readonly_fields = ["sent_at", "paid_at", "created_at", "updated_at"]
    autocomplete_fields = ["contact"]
    inlines = [InvoiceLineInline, PaymentInline]
    actions = ["send_invoices", "void_invoices", "mark_invoices_paid"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return super().get_queryset(request).prefetch_related("lines", "payments")

    @admin.action(description="Send selected draft invoices")
    def send_invoices(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        _run(self, request, queryset, Invoice.send, "invoice(s) sent")

    @admin.action(description="Void selected invoices")
    def void_invoices(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        _run(self, request, queryset, Invoice.void, "invoice(s) voided")

    @admin.action(description="Mark selected invoices paid")
    def mark_invoices_paid(self, request: HttpRequest, queryset: QuerySet[Invoice]) -> None:
        _run(self, request, queryset, lambda inv: inv.mark_paid(), "invoice(s) marked paid")


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["invoice", "date", "amount", "method", "source", "external_ref"]
    list_filter = ["source", "method", "invoice__workspace"]
    search_fields = ["invoice__number", "reference", "external_ref"]
    list_select_related = ["invoice"]
    autocomplete_fields = ["invoice"]


class CreditMemoLineInline(admin.TabularInline):
    model = CreditMemoLine
    fields = LINE_FIELDS
    extra = 0


@admin.register(CreditMemo)
class CreditMemoAdmin(admin.ModelAdmin):
    list_display = ["number", "contact", "workspace", "date", "currency", "total"]
    list_filter = ["workspace", "currency"]
    search_fields = ["number", "contact__display_name"]
    list_select_related = ["contact", "workspace"]
    autocomplete_fields = ["contact", "invoice"]
    inlines = [CreditMemoLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[CreditMemo]:
        return super().get_queryset(request).prefetch_related("lines")


class RefundLineInline(admin.TabularInline):
    model = RefundLine
    fields = LINE_FIELDS
    extra = 0


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["number", "contact", "workspace", "date", "currency", "method", "total"]
    list_filter = ["workspace", "currency", "method"]
    search_fields = ["number", "contact__display_name", "reference"]
    list_select_related = ["contact", "workspace"]
    autocomplete_fields = ["contact", "invoice"]
    inlines = [RefundLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).prefetch_related("lines")


def _status_before(form) -> str:
    previous = form.initial.get("status")
    if previous in (None, "", Task.Status.READY_TO_INVOICE):
        return Task.Status.BACKLOG
    return previous


class TimeEntryInline(admin.TabularInline):
    model = TimeEntry
    fields = ["date", "description", "hours", "rate", "category", "billable"]
    extra = 0


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "contact", "workspace", "status", "invoice", "updated_at"]
    list_filter = ["workspace", "status"]
    search_fields = ["title", "contact__display_name"]
    list_select_related = ["contact", "workspace", "invoice"]
    autocomplete_fields = ["contact"]
    readonly_fields = ["invoice"]
    inlines = [TimeEntryInline]
    actions = ["move_to_ready_to_invoice"]

    def save_model(self, request, obj: Task, form, change) -> None:
        # The draft invoice is built from time entries, which the inline saves after the
        # task: keep the old status for now and move the task in save_related.
        obj._wanted_status = obj.status
        if obj.status == Task.Status.READY_TO_INVOICE and obj.invoice_id is None:
            obj.status = _status_before(form)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        task = form.instance
        if getattr(task, "_wanted_status", None) == Task.Status.READY_TO_INVOICE:
            try:
                task.move_to_ready_to_invoice()
            except ValidationError as err:
                task.status = _status_before(form)
                self.message_user(request, " ".join(err.messages), messages.ERROR)

    @admin.action(description="Move to Ready to Invoice (creates a draft invoice)")
    def move_to_ready_to_invoice(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        pending = queryset.filter(invoice__isnull=True)
        _run(self, request, pending, Task.move_to_ready_to_invoice, "task(s) ready to invoice")


@admin.register(TimeEntry)
class TimeEntryAdmin(admin.ModelAdmin):
    list_display = ["description", "task", "hours", "rate", "category", "billable"]
    list_filter = ["billable", "category", "task__workspace"]
    search_fields = ["description", "task__title"]
