"""Shared vocabulary of the simulated Accounting API: entity names, the API fault
exception, money helpers and the JSON rendering rules (docs/qbo-rules.md §4, §5)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .wire import SimResponse, fault

# Path segment (lower case, docs/qbo-rules.md §2.1) -> entity name as it appears in JSON.
ENTITY_PATHS: dict[str, str] = {
    "customer": "Customer",
    "vendor": "Vendor",
    "employee": "Employee",
    "invoice": "Invoice",
    "payment": "Payment",
    "creditmemo": "CreditMemo",
    "refundreceipt": "RefundReceipt",
    "item": "Item",
    "account": "Account",
    "taxcode": "TaxCode",
    "taxrate": "TaxRate",
    "paymentmethod": "PaymentMethod",
    "companycurrency": "CompanyCurrency",
    "companyinfo": "CompanyInfo",
    "preferences": "Preferences",
    "timeactivity": "TimeActivity",
}
ENTITY_NAMES: dict[str, str] = {v.lower(): v for v in ENTITY_PATHS.values()}

# Name lists cannot be deleted and queries hide inactive ones (docs/qbo-rules.md §5).
NAME_LISTS = {"Customer", "Vendor", "Employee", "Item", "Account", "TaxCode", "TaxRate",
              "PaymentMethod", "CompanyCurrency"}
PEOPLE = ("Customer", "Vendor", "Employee")  # share one DisplayName namespace (§5.1)
SALES_TXNS = ("Invoice", "CreditMemo", "RefundReceipt")
TRANSACTIONS = (*SALES_TXNS, "Payment")

# Keys whose values are numbers. Internally they are always Decimal; the saved state
# keeps them as strings and this set is how ``from_dict`` turns them back.
NUMERIC_FIELDS = frozenset({
    "Amount", "TotalAmt", "Balance", "UnitPrice", "Qty", "UnappliedAmt", "RemainingCredit",
    "TotalTax", "TaxPercent", "NetAmountTaxable", "DiscountPercent", "RateValue",
    "ExchangeRate", "HomeTotalAmt", "HomeBalance", "BalanceWithJobs", "TaxInclusiveAmt",
    "DiscountAmt", "DiscountRate", "CurrentBalance", "Deposit",
    "HourlyRate",
})

CENT = Decimal("0.01")


class ApiError(ValueError):
    """A QBO fault (docs/qbo-rules.md §4). Raised anywhere in request handling and turned into
    the JSON Fault envelope (or a batch item's ``Fault``) at the edge."""

    def __init__(self, code: str, message: str, detail: str = "", *, element: str = "",
                 status: int = 400, fault_type: str = "ValidationFault") -> None:
        super().__init__(f"{code} {message}: {detail or message}")
        self.code, self.message, self.detail = str(code), message, detail or message
        self.element, self.status, self.fault_type = element, status, fault_type

    def response(self, now: datetime) -> SimResponse:
        return fault(self.code, self.message, self.detail, element=self.element,
                     fault_type=self.fault_type, status=self.status, now=now)

    def fault_body(self) -> dict:
        """The ``Fault`` object alone, as a batch item carries it (docs/qbo-rules.md §10)."""
        return {"Error": [{"Message": self.message, "Detail": self.detail, "code": self.code,
                           "element": self.element}], "type": self.fault_type}


# Constructors for the faults used throughout; codes and wording from docs/qbo-rules.md §4.2.
def required(param: str) -> ApiError:
    return ApiError("2020", "Required param missing, need to supply the required value for "
                    "the API", f"Required parameter {param} is missing in the request",
                    element=param)


def invalid_ref(what: str) -> ApiError:
    return ApiError("2500", "Invalid Reference Id", f"Invalid Reference Id : {what}",
                    element=what)


def not_found(what: str = "") -> ApiError:
    return ApiError("610", "Object Not Found",
                    "Object Not Found : Something you're trying to use has been made inactive. "
                    "Check the fields with accounts, customers, items, vendors or employees."
                    + (f" ({what})" if what else ""), element=what)


def business(detail: str, element: str = "") -> ApiError:
    return ApiError("6000", "A business validation error has occurred while processing your "
                    "request", f"Business Validation Error: {detail}", element=element)


def bad_length(field: str, limit: int, supplied: int) -> ApiError:
    # QBO answers over-long strings with 2050 (seen for DocNumber Max:21 and
    # CustomerMemo Max:1,000 in public integrator reports), not with a 6000.
    return ApiError("2050", "String length is either shorter or longer than supported by "
                    "specification", "String length specified does not match the supported "
                    f"length. Min:0 Max:{limit} supported. Supplied length:{supplied}",
                    element=field)


def unsupported(detail: str = "") -> ApiError:
    # docs/qbo-rules.md §2.2/§4.2: wrong path or method -> HTTP 500 "Unsupported Operation".
    return ApiError("500", "Unsupported Operation", detail or "Operation is not supported.",
                    status=500, fault_type="SystemFault")


def dec(value: Any, field: str = "Amount") -> Decimal:
    """A Decimal from a parsed JSON number or numeric string; 6000 when it is not one."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise business(f"{field} must be a number.", field)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise business(f"{field} must be a number, got {value!r}.", field) from None


def money(value: Decimal) -> Decimal:
    """Round half-up to cents, the way QBO rounds Qty x UnitPrice (docs/qbo-rules.md §4.2 6070)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ref_value(ref: Any) -> str | None:
    """The id inside a reference object ``{"value": "12", "name": ...}``."""
    if isinstance(ref, dict):
        value = ref.get("value")
        return None if value in (None, "") else str(value)
    if isinstance(ref, str | int):
        return str(ref)
    return None


def normalize(value: Any, key: str = "") -> Any:
    """Turn every number under a numeric key into a Decimal (input side)."""
    if isinstance(value, dict):
        return {k: normalize(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v, key) for v in value]
    if key in NUMERIC_FIELDS and value is not None and not isinstance(value, bool):
        return dec(value, key)
    return value


def render(value: Any) -> Any:
    """Internal record -> API JSON: Decimal becomes a JSON number, private ``_`` keys and
    properties without a value are omitted (docs/qbo-rules.md §8, last bullet of Response)."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k.startswith("_"):
                continue
            r = render(v)
            if r is None or r == "" or r == []:
                continue
            out[k] = r
        return out
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    return value


def encode_state(value: Any) -> Any:
    """Internal state -> JSON-safe (Decimals as strings)."""
    if isinstance(value, dict):
        return {k: encode_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode_state(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def decode_state(value: Any, key: str = "") -> Any:
    """Inverse of :func:`encode_state` (also accepts floats from a plain ``json.load``)."""
    if isinstance(value, dict):
        return {k: decode_state(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_state(v, key) for v in value]
    if key in NUMERIC_FIELDS and isinstance(value, str | int | float) \
            and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def parse_time(text: str) -> datetime:
    """ISO date or date-time (any offset, ``Z`` allowed) as an aware UTC datetime."""
    dt = datetime.fromisoformat(text.strip().replace(" ", "+"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def clone(obj: Any) -> Any:
    return copy.deepcopy(obj)
