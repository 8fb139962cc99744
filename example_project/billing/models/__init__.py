"""The example invoicing product's models."""

from .credits import CreditMemo, CreditMemoLine, Refund, RefundLine
from .invoices import Invoice, InvoiceLine, Payment
from .lines import Category
from .tasks import Task, TimeEntry
from .workspace import Contact, Membership, Workspace

__all__ = [
    "Category",
    "Contact",
    "CreditMemo",
    "CreditMemoLine",
    "Invoice",
    "InvoiceLine",
    "Membership",
    "Payment",
    "Refund",
    "RefundLine",
    "Task",
    "TimeEntry",
    "Workspace",
]
