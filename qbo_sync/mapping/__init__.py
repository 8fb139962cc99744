"""Pure functions: neutral host data + company context → QBO JSON payloads.

No I/O, no ORM, no network and no Django settings: everything comes in as
arguments and the output is deterministic, so the tests need no database.

Money: every amount in a payload (``Qty``, ``UnitPrice``, ``Amount``, ``TotalAmt``,
``ExchangeRate``) stays a ``Decimal``; the client serialises them as JSON numbers.
Line ``Amount`` is round(Qty × UnitPrice, 2) half-up, the rule QBO checks (6070).
Dates are ISO ``YYYY-MM-DD`` strings.

Errors: problems found before any call raise ``MappingError`` (fix the record or a
mapping) or ``ConfigurationError`` (fix a setting); each message names the fix, e.g.
"Default Item is not set: Settings → Default Item". The ``preflight_*`` functions
return the same messages as a list instead of raising.
"""

from .context import MappingContext
from .customers import (
    customer_display_name,
    customer_display_name_variant,
    customer_payload,
    customer_sparse_update,
    validate_email,
)
from .hashing import content_hash, mask_payload
from .lines import resolve_item, resolve_tax_code
from .preflight import (
    contact_problems,
    credit_memo_problems,
    invoice_problems,
    payment_problems,
    preflight_contact,
    preflight_credit_memo,
    preflight_invoice,
    preflight_payment,
    preflight_refund,
    refund_problems,
)
from .text import line_amount
from .transactions import (
    credit_memo_payload,
    doc_number,
    invoice_payload,
    payment_payload,
    refund_receipt_payload,
)

__all__ = [
    "MappingContext",
    "contact_problems",
    "content_hash",
    "credit_memo_payload",
    "credit_memo_problems",
    "customer_display_name",
    "customer_display_name_variant",
    "customer_payload",
    "customer_sparse_update",
    "doc_number",
    "invoice_payload",
    "invoice_problems",
    "line_amount",
    "mask_payload",
    "payment_payload",
    "payment_problems",
    "preflight_contact",
    "preflight_credit_memo",
    "preflight_invoice",
    "preflight_payment",
    "preflight_refund",
    "refund_problems",
    "refund_receipt_payload",
    "resolve_item",
    "resolve_tax_code",
    "validate_email",
]
