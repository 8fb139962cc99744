"""What a QBO object says, read the same way everywhere: paid, void, deleted, what a
payment applies to an invoice, and when it last changed (docs/qbo-rules.md §5.2, §5.3,
§6). Pure functions over the JSON QBO returns."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

ZERO = Decimal("0")


def _money(obj: dict, key: str) -> Decimal:
    return Decimal(str(obj.get(key, "0") or "0"))


def is_paid(invoice: dict) -> bool:
    """Fully paid: something was billed and nothing is open. The one rule for "paid",
    for pushes (never overwrite a paid invoice) and pulls (mark the host's paid)."""
    return _money(invoice, "TotalAmt") > ZERO and _money(invoice, "Balance") == ZERO


def balance(invoice: dict) -> Decimal:
    """What is still open on an invoice."""
    return _money(invoice, "Balance")


def is_deleted(obj: dict) -> bool:
    return str(obj.get("status", "")).lower() == "deleted"  # docs/qbo-rules.md §6


def is_void(invoice: dict) -> bool:
    """Voided: amounts zeroed and PrivateNote prefixed "Voided" (§5.2, §6)."""
    return (
        _money(invoice, "TotalAmt") == ZERO
        and str(invoice.get("PrivateNote") or "").startswith("Voided")
    )


def due_date(invoice: dict) -> date | None:
    """The invoice's ``DueDate`` (a date in the company's calendar), or None."""
    text = str(invoice.get("DueDate") or "")[:10]
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def is_overdue(invoice: dict, today: date) -> bool:
    """Overdue: an open balance on an invoice neither void nor deleted whose due date
    has passed (docs/qbo-rules.md §5.12). The one rule, for the pull and the daily
    check."""
    if is_deleted(invoice) or is_void(invoice) or balance(invoice) <= ZERO:
        return False
    due = due_date(invoice)
    return due is not None and due < today


def applied_to(payment: dict, invoice_id: str) -> Decimal:
    """What ``payment`` applies to ``invoice_id``: the sum of its lines linking it
    (docs/qbo-rules.md §5.3); one payment may be split over several invoices."""
    total = ZERO
    for line in payment.get("Line") or []:
        for linked in line.get("LinkedTxn") or []:
            if linked.get("TxnType") == "Invoice" and str(linked.get("TxnId")) == invoice_id:
                total += _money(line, "Amount")
                break
    return total


def parse_qbo_time(value: str | None) -> datetime | None:
    """``2026-07-10T12:00:00.000-07:00`` / ``…Z`` → aware datetime (None if unreadable)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def last_updated(obj: dict) -> datetime | None:
    return parse_qbo_time((obj.get("MetaData") or {}).get("LastUpdatedTime"))
