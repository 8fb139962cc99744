"""Name-list writers: Customer, Vendor, Employee (one DisplayName namespace) and Item
(docs/qbo-rules.md §5.1, §5.6)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..entities import ApiError, bad_length, business, clone, not_found, ref_value, required
from .rules import (
    build_display_name,
    check_display_name,
    check_name_fields,
    check_sync_token,
    check_unique_name,
    resolve_currency,
    resolve_ref,
)

if TYPE_CHECKING:
    from ..store import Store

NAME_READ_ONLY = {"Id", "SyncToken", "MetaData", "domain", "sparse", "FullyQualifiedName",
                  "Balance", "BalanceWithJobs", "time"}
ITEM_TYPES_NEEDING_INCOME = {"Service", "NonInventory", "Inventory"}
ITEM_TYPES = ITEM_TYPES_NEEDING_INCOME | {"Group", "Category"}


def merge(existing: dict | None, body: dict, read_only: set[str], sparse: bool) -> dict:
    """The record an update produces: sparse keeps unsent fields, full resets them
    (docs/qbo-rules.md §5, "full update sets any writable field you omit to NULL")."""
    if existing is None:
        base: dict[str, Any] = {}
    elif sparse:
        base = clone(existing)
    else:
        base = {k: clone(v) for k, v in existing.items()
                if k in read_only or k.startswith("_")}
    base.update({k: clone(v) for k, v in body.items() if k not in read_only})
    return base


def existing_for_update(store: Store, realm_id: str, entity: str, body: dict) -> dict:
    existing = store.raw(realm_id, entity, str(body["Id"]))
    if existing is None:
        raise not_found(f"{entity} Id={body['Id']}")
    check_sync_token(existing, body)
    return existing


def write_person(store: Store, realm_id: str, entity: str, body: dict) -> dict:
    """Create or update a Customer/Vendor/Employee."""
    is_update = body.get("Id") not in (None, "")
    existing = existing_for_update(store, realm_id, entity, body) if is_update else None
    sparse = body.get("sparse") is True
    check_name_fields(body)
    obj = merge(existing, body, NAME_READ_ONLY, sparse)
    if existing is not None:
        # Write-once: omitted on a full update keeps the current value.
        obj.setdefault("CurrencyRef", existing.get("CurrencyRef"))
        if not obj.get("DisplayName"):
            if "DisplayName" in body and sparse:
                raise required("DisplayName")
            obj["DisplayName"] = existing["DisplayName"]
    elif not obj.get("DisplayName"):
        derived = build_display_name(obj)
        if derived is None:
            # docs/qbo-rules.md §5.1: DisplayName or a name part is required on create.
            raise required("DisplayName or one of Title/GivenName/MiddleName/FamilyName/Suffix")
        check_display_name(derived)
        obj["DisplayName"] = derived
    obj["DisplayName"] = obj["DisplayName"].strip()
    check_unique_name(store, realm_id, obj["DisplayName"], entity=entity,
                      own_id=existing["Id"] if existing else None)
    if entity != "Employee":
        ccy = resolve_currency(store, realm_id, obj.get("CurrencyRef"), add_if_known=True)
        if existing is not None and existing.get("CurrencyRef") \
                and ref_value(existing["CurrencyRef"]) != ccy["value"]:
            raise business(f"The currency of {entity.lower()} '{existing['DisplayName']}' is "
                           f"{ref_value(existing['CurrencyRef'])} and cannot be changed; "
                           f"create another {entity.lower()} for {ccy['value']}.",
                           "CurrencyRef")
        obj["CurrencyRef"] = ccy
    email = (obj.get("PrimaryEmailAddr") or {}).get("Address")
    if email is not None and len(email) > 100:
        raise bad_length("PrimaryEmailAddr.Address", 100, len(email))
    obj.setdefault("Active", True)
    if entity == "Customer":
        obj["FullyQualifiedName"] = obj["DisplayName"]
        if ref_value(obj.get("ParentRef")) is not None:
            # A sub-customer or job: its name is Parent:Child (docs/qbo-rules.md §5.1).
            parent = resolve_ref(store, realm_id, "Customer", obj["ParentRef"], "ParentRef",
                                 must_be_active=False)
            if parent["Id"] == obj.get("Id"):
                raise business("A customer cannot be its own parent.", "ParentRef")
            obj["ParentRef"] = {"value": parent["Id"]}
            obj["FullyQualifiedName"] = (
                f"{parent.get('FullyQualifiedName') or parent['DisplayName']}:"
                f"{obj['DisplayName']}")
            obj.setdefault("Job", True)
        obj.setdefault("Taxable", True if store.info(realm_id)["country"] == "US" else None)
        obj.setdefault("Job", False)
        obj.setdefault("BillWithParent", False)
        if existing is not None and obj["Active"] is False and existing.get("Active", True):
            if customer_balance(store, realm_id, existing["Id"]) != 0:
                raise business("Delete List Has Balance Error: the customer has an open "
                               "balance; settle or void its invoices before making it "
                               "inactive.", "Active")
    return store.save(realm_id, entity, obj, "Update" if existing else "Create")


def write_item(store: Store, realm_id: str, body: dict) -> dict:
    """Create or update an Item: Name required, ≤100, no colon, unique among items;
    Service items need an income account (docs/qbo-rules.md §5.6)."""
    is_update = body.get("Id") not in (None, "")
    existing = existing_for_update(store, realm_id, "Item", body) if is_update else None
    obj = merge(existing, body, NAME_READ_ONLY, body.get("sparse") is True)
    name = obj.get("Name")
    if not name:
        raise required("Name")
    if ":" in name:
        raise business("Item Name cannot contain a colon (:); remove it.", "Name")
    if len(name) > 100:
        raise bad_length("Name", 100, len(name))
    for other in store.raw_all(realm_id, "Item"):
        if other["Id"] != obj.get("Id") and other["Name"].casefold() == name.casefold():
            raise ApiError("6240", "Duplicate Name Exists Error",
                           "The name supplied already exists. : Another product or service is "
                           f"already using this name. Please use a different name. "
                           f"Id={other['Id']}", element="Name")
    obj.setdefault("Type", "Service")
    if obj["Type"] not in ITEM_TYPES:
        raise ApiError("2170", "Invalid Enumeration", f"Invalid Enumeration : {obj['Type']}",
                       element="Type")
    if obj["Type"] in ITEM_TYPES_NEEDING_INCOME:
        account = resolve_ref(store, realm_id, "Account", obj.get("IncomeAccountRef"),
                              "IncomeAccountRef")
        if account["AccountType"] not in ("Income", "Other Income"):
            raise business("IncomeAccountRef must be an income account.", "IncomeAccountRef")
        obj["IncomeAccountRef"] = {"value": account["Id"], "name": account["Name"]}
    obj["FullyQualifiedName"] = name
    obj.setdefault("Active", True)
    return store.save(realm_id, "Item", obj, "Update" if existing else "Create")


def customer_balances(store: Store, realm_id: str) -> dict[str, Decimal]:
    """Open A/R per customer: open invoices minus unused credits and unapplied payments."""
    out: dict[str, Decimal] = {}

    def add(cid: str | None, amount: Any) -> None:
        if cid is not None and amount:
            out[cid] = out.get(cid, Decimal("0")) + amount

    for inv in store.raw_all(realm_id, "Invoice"):
        add(ref_value(inv.get("CustomerRef")), inv.get("Balance"))
    for cm in store.raw_all(realm_id, "CreditMemo"):
        add(ref_value(cm.get("CustomerRef")), -(cm.get("RemainingCredit") or 0))
    for pay in store.raw_all(realm_id, "Payment"):
        add(ref_value(pay.get("CustomerRef")), -(pay.get("UnappliedAmt") or 0))
    return out


def customer_balance(store: Store, realm_id: str, customer_id: str) -> Decimal:
    return customer_balances(store, realm_id).get(customer_id, Decimal("0"))


def with_computed(store: Store, realm_id: str, entity: str, objs: list[dict]) -> list[dict]:
    """Records plus the values QBO derives on read (Customer Balance), as shallow copies."""
    if entity != "Customer":
        return objs
    balances = customer_balances(store, realm_id)
    out = []
    for obj in objs:
        balance = balances.get(obj["Id"], Decimal("0"))
        out.append({**obj, "Balance": balance, "BalanceWithJobs": balance})
    return out
