"""How values are written for QBO: entity names, query literals, request ids and JSON
with exact decimals (qbo-api.md §2.1, §2.4, §8)."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any

MAX_REQUEST_ID = 50  # qbo-api.md §2.4

# Path segments are lower-case, query and response names PascalCase (§2.1, §8).
_ENTITY_NAMES = {
    name.lower(): name
    for name in (
        "Account", "Attachable", "Bill", "BillPayment", "Budget", "Class", "CompanyCurrency",
        "CompanyInfo", "CreditMemo", "Customer", "Department", "Deposit", "Employee",
        "Estimate", "Invoice", "Item", "JournalEntry", "Payment", "PaymentMethod",
        "Preferences", "Purchase", "PurchaseOrder", "RefundReceipt", "SalesReceipt",
        "TaxAgency", "TaxCode", "TaxRate", "Term", "TimeActivity", "Transfer", "Vendor",
        "VendorCredit",
    )
}


def entity_name(entity: str) -> str:
    """``"invoice"`` / ``"Invoice"`` → ``"Invoice"`` (queries, response keys)."""
    return _ENTITY_NAMES.get(entity.lower(), entity[:1].upper() + entity[1:])


def entity_path(entity: str) -> str:
    """``"CreditMemo"`` → ``"creditmemo"`` (URL path segment; URIs are case-sensitive)."""
    return entity.lower()


def quote(value: Any) -> str:
    """A single-quoted query literal: ``O'Brien`` → ``'O\\'Brien'`` (qbo-api.md §8).

    Backslash and apostrophe are escaped with a backslash. Control characters (tab,
    newline, …) are rejected with ``ValueError``: the query language has no escape for
    them and QBO names may not contain them (§5.1). Emoji and other Unicode pass through.
    """
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, (date, datetime)):
        text = value.isoformat()
    else:
        text = str(value)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValueError("A query value may not contain control characters (tab, newline, …).")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def where_eq(field: str, value: Any) -> str:
    """``where_eq("DisplayName", "O'Brien")`` → ``DisplayName = 'O\\'Brien'``."""
    return f"{field} = {quote(value)}"


def validate_request_id(request_id: str, limit: int = MAX_REQUEST_ID) -> str:
    """Return ``request_id`` or raise ``ValueError`` when empty or too long (§2.4)."""
    if not isinstance(request_id, str) or not request_id or len(request_id) > limit:
        raise ValueError(f"requestid must be a non-empty string of at most {limit} characters.")
    return request_id


def dumps(payload: Any) -> str:
    """JSON with ``Decimal`` written as exact numbers, never through float."""
    nonce = secrets.token_hex(8)
    numbers: dict[str, str] = {}

    def swap(obj: Any) -> Any:
        if isinstance(obj, Decimal):
            marker = f"\x00{nonce}:{len(numbers)}\x00"
            numbers[json.dumps(marker)] = format(obj, "f")
            return marker
        if isinstance(obj, dict):
            return {k: swap(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [swap(v) for v in obj]
        if isinstance(obj, (date, datetime)):
            return obj.isoformat()
        return obj

    text = json.dumps(swap(payload), ensure_ascii=False)
    for marker, number in numbers.items():
        text = text.replace(marker, number)
    return text
