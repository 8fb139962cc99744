"""TimeActivity: time worked by an employee or a vendor (docs/qbo-rules.md §5.10).

What is checked, as QBO documents it: NameOf (Employee or Vendor) with the matching
EmployeeRef or VendorRef; Hours unless both StartTime and EndTime are given;
BillableStatus one of Billable, NotBillable, HasBeenBilled; HourlyRate when the time is
Billable; TxnDate defaults to today. References must exist and be active. Updates need
the current SyncToken; deletes are real deletes (no void)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..entities import ApiError, business, required
from .names import existing_for_update, merge
from .rules import resolve_ref

if TYPE_CHECKING:
    from ..store import Store

ENTITY = "TimeActivity"
NAME_OF_REFS = {"Employee": "EmployeeRef", "Vendor": "VendorRef"}
BILLABLE_STATUSES = ("Billable", "NotBillable", "HasBeenBilled")
READ_ONLY = {"Id", "SyncToken", "MetaData", "domain", "sparse", "time"}


def _enum(value: Any, allowed: tuple[str, ...] | dict, element: str) -> None:
    if value not in allowed:
        raise ApiError("2170", "Invalid Enumeration", f"Invalid Enumeration : {value}",
                       element=element)


def _whole(value: Any, element: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise business(f"{element} must be a whole number of 0 or more.", element)


def write_time_activity(store: Store, realm_id: str, body: dict) -> dict:
    """Create or (full) update a TimeActivity."""
    is_update = body.get("Id") not in (None, "")
    existing = existing_for_update(store, realm_id, ENTITY, body) if is_update else None
    obj = merge(existing, body, READ_ONLY, body.get("sparse") is True)
    name_of = obj.get("NameOf")
    if name_of in (None, ""):
        raise required("NameOf")
    _enum(name_of, NAME_OF_REFS, "NameOf")
    ref_field = NAME_OF_REFS[name_of]
    person = resolve_ref(store, realm_id, name_of, obj.get(ref_field), ref_field)
    obj[ref_field] = {"value": person["Id"], "name": person["DisplayName"]}
    # The other kind's reference does not belong to this activity.
    obj.pop(NAME_OF_REFS["Vendor" if name_of == "Employee" else "Employee"], None)
    if obj.get("Hours") is None:
        if not (obj.get("StartTime") and obj.get("EndTime")):
            raise required("Hours")
    else:
        _whole(obj["Hours"], "Hours")
        _whole(obj.get("Minutes", 0), "Minutes")
        obj.setdefault("Minutes", 0)
    status = obj.get("BillableStatus") or "NotBillable"
    _enum(status, BILLABLE_STATUSES, "BillableStatus")
    obj["BillableStatus"] = status
    if status == "Billable" and obj.get("HourlyRate") is None:
        raise required("HourlyRate")
    if obj.get("HourlyRate") is not None and obj["HourlyRate"] < 0:
        raise business("HourlyRate cannot be negative.", "HourlyRate")
    if obj.get("CustomerRef") is not None:
        customer = resolve_ref(store, realm_id, "Customer", obj["CustomerRef"], "CustomerRef")
        obj["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}
    if obj.get("ItemRef") is not None:
        item = resolve_ref(store, realm_id, "Item", obj["ItemRef"], "ItemRef")
        obj["ItemRef"] = {"value": item["Id"], "name": item["Name"]}
    obj["TxnDate"] = obj.get("TxnDate") or store.clock.now().date().isoformat()
    return store.save(realm_id, ENTITY, obj, "Update" if existing else "Create")


def delete_time_activity(store: Store, realm_id: str, body: dict) -> dict:
    """``?operation=delete`` with Id and the current SyncToken."""
    existing_for_update(store, realm_id, ENTITY, body)
    return store.delete(realm_id, ENTITY, str(body["Id"]))
