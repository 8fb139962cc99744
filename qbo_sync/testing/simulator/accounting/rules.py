"""Validation rules shared by the entity writers (docs/qbo-rules.md §4.2, §5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..companies import CURRENCY_NAMES, currency_ref
from ..entities import (
    PEOPLE,
    ApiError,
    bad_length,
    business,
    invalid_ref,
    not_found,
    ref_value,
    required,
)

if TYPE_CHECKING:
    from ..store import Store

NAME_PARTS = {"Title": 16, "GivenName": 100, "MiddleName": 100, "FamilyName": 100,
              "Suffix": 16, "CompanyName": 100, "PrintOnCheckName": 110}
DISPLAY_NAME_MAX = 500
DOC_NUMBER_MAX = 21
FORBIDDEN_NAME_CHARS = {":": "a colon (:)", "\t": "a tab", "\n": "a newline", "\r": "a newline"}


def check_display_name(value: Any, field: str = "DisplayName") -> None:
    """No colon, tab or newline; length limits (docs/qbo-rules.md §5.1).

    Forbidden characters get code 6000 (Business Validation Error): QBO documents the rule
    but no dedicated code, and 6000 is its catch-all for business rules. Over-long values
    get 2050, the code QBO uses for string length."""
    if value is None:
        return
    if not isinstance(value, str):
        raise business(f"{field} must be a string.", field)
    for char, label in FORBIDDEN_NAME_CHARS.items():
        if char in value:
            raise business(f"{field} cannot contain {label}; remove it from the name "
                           f"(QBO uses ':' to separate sub-customers).", field)
    limit = NAME_PARTS.get(field, DISPLAY_NAME_MAX)
    if len(value) > limit:
        raise bad_length(field, limit, len(value))


def check_name_fields(body: dict[str, Any]) -> None:
    check_display_name(body.get("DisplayName"))
    for part in NAME_PARTS:
        check_display_name(body.get(part), part)


def build_display_name(body: dict[str, Any]) -> str | None:
    """QBO derives DisplayName from the name parts when it is omitted on create."""
    parts = [body.get(p) for p in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")]
    joined = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return joined or None


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def check_unique_name(store: Store, realm_id: str, name: str, *, entity: str = "",
                      own_id: str | None = None) -> None:
    """DisplayName is unique across Customer, Vendor and Employee, case-insensitively and
    including inactive records (docs/qbo-rules.md §5.1) -> 6240 with the clashing Id."""
    key = _name_key(name)
    for other in PEOPLE:
        for obj in store.raw_all(realm_id, other):
            if other == entity and obj["Id"] == own_id:
                continue
            if _name_key(obj.get("DisplayName") or "") == key:
                raise ApiError(
                    "6240", "Duplicate Name Exists Error",
                    "The name supplied already exists. : Another customer, vendor or employee "
                    f"is already using this name. Please use a different name. Id={obj['Id']}",
                    element="DisplayName")


def check_doc_number(store: Store, realm_id: str, entity: str, doc: Any, *, own_id: str | None,
                     allow_duplicates: bool) -> None:
    """DocNumber ≤ 21 characters; unique among invoices unless allowed (docs/qbo-rules.md §5.2)."""
    if doc is None:
        return
    doc = str(doc)
    if len(doc) > DOC_NUMBER_MAX:
        raise bad_length("DocNumber", DOC_NUMBER_MAX, len(doc))
    if entity != "Invoice" or allow_duplicates:
        return
    for obj in store.raw_all(realm_id, entity):
        if obj["Id"] != own_id and obj.get("DocNumber") == doc:
            raise ApiError(
                "6140", "Duplicate Document Number Error",
                "Duplicate Document Number Error : You must specify a different number. This "
                f"number has already been used. DocNumber={doc} is assigned to "
                f"TxnType={entity} with TxnId={obj['Id']}", element="DocNumber")


def resolve_ref(store: Store, realm_id: str, entity: str, ref: Any, element: str, *,
                must_be_active: bool = True, needed: bool = True) -> dict | None:
    """The referenced record: 2020 when missing, 2500 when the id does not exist,
    610 when the record is inactive (docs/qbo-rules.md §4.2)."""
    rid = ref_value(ref)
    if rid is None:
        if needed:
            raise required(element)
        return None
    obj = store.raw(realm_id, entity, rid)
    if obj is None:
        raise invalid_ref(element)
    if must_be_active and obj.get("Active") is False:
        raise not_found(element)
    return obj


def resolve_currency(store: Store, realm_id: str, ref: Any, *, add_if_known: bool = False
                     ) -> dict[str, str]:
    """A CurrencyRef checked against the company (docs/qbo-rules.md §5.1, §5.9). Defaults to the
    home currency. Without multicurrency only the home currency is allowed. A customer may
    bring a new (real) currency into a multicurrency company, as QBO adds it to the list;
    a transaction may only use a currency the company already has."""
    info = store.info(realm_id)
    home = info["home_currency"]
    code = ref_value(ref)
    if code is None:
        return currency_ref(home)
    code = code.upper()
    if not info["multicurrency"]:
        if code != home:
            raise business(f"Multicurrency is not turned on for this company, so CurrencyRef "
                           f"must be {home} (or omitted); got {code}.", "CurrencyRef")
        return currency_ref(home)
    if code not in info["currencies"]:
        if add_if_known and code in CURRENCY_NAMES:
            info["currencies"].append(code)
        else:
            raise invalid_ref(f"CurrencyRef ({code} is not a currency of this company; "
                              "add it in QuickBooks settings first)")
    return currency_ref(code)


def check_same_currency(txn_currency: str, customer: dict[str, Any]) -> None:
    cust_ccy = ref_value(customer.get("CurrencyRef"))
    if cust_ccy and cust_ccy != txn_currency:
        raise business(f"The transaction currency {txn_currency} must match the customer's "
                       f"currency {cust_ccy}; set CurrencyRef to {cust_ccy} or use a customer "
                       f"billed in {txn_currency}.", "CurrencyRef")


def check_sync_token(existing: dict[str, Any], body: dict[str, Any]) -> None:
    """Updates need the current SyncToken; a stale one gives 5010 (docs/qbo-rules.md §5)."""
    token = body.get("SyncToken")
    if token is None or token == "":
        raise required("SyncToken")
    if str(token) != existing["SyncToken"]:
        raise ApiError("5010", "Stale Object Error",
                       "Stale Object Error : You and QuickBooks were working on this at the "
                       "same time. QuickBooks finished before you did, so your work was not "
                       "saved.", element="SyncToken")
