"""How values are written for QBO: entity names, query literals, request ids and JSON
with exact decimals (docs/qbo-rules.md §2.1, §2.4, §8)."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any

MAX_REQUEST_ID = 50  # docs/qbo-rules.md §2.4

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
    """A single-quoted query literal: ``O'Brien`` → ``'O\\'Brien'`` (docs/qbo-rules.md §8).

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


def request_id(*parts: Any) -> str:
    """A deterministic requestid (at most 50 characters, §2.4): the same intent always
    sends the same id, so QBO can replay instead of writing twice."""
    raw = ":".join(str(p) for p in parts)
    return "qs-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _plain(obj: Any, number: Any) -> Any:
    """``obj`` with dates as ISO text and each ``Decimal`` passed through ``number``:
    the one walk both JSON forms below share."""
    if isinstance(obj, Decimal):
        return number(obj)
    if isinstance(obj, dict):
        return {k: _plain(v, number) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, number) for v in obj]
    if isinstance(obj, (date, datetime)):
        return obj.isoformat()
    return obj


def dumps(payload: Any) -> str:
    """JSON for QBO, with ``Decimal`` written as exact numbers, never through float."""
    nonce = secrets.token_hex(8)
    numbers: dict[str, str] = {}

    def swap(value: Decimal) -> str:
        marker = f"\x00{nonce}:{len(numbers)}\x00"
        numbers[json.dumps(marker)] = _exact(value)
        return marker

    text = json.dumps(_plain(payload, swap), ensure_ascii=False)
    for marker, number in numbers.items():
        text = text.replace(marker, number)
    return text


def _exact(value: Decimal) -> str:
    return format(value, "f")


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON data for a ``JSONField``: a ``Decimal`` becomes its exact
    text (JSON numbers would come back as floats); anything else unknown, its text."""
    return json.loads(json.dumps(_plain(value, _exact), default=str))
