"""Entity operations shared by single requests and batch items: read, create, update,
delete, void (docs/qbo-rules.md §2.1 operation table)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..companies import is_us
from ..entities import (
    NAME_LISTS,
    PEOPLE,
    SALES_TXNS,
    business,
    normalize,
    not_found,
    render,
    required,
    unsupported,
)
from .names import with_computed, write_item, write_person
from .payments import delete_payment, payment_input, void_payment, write_payment
from .sales import delete_sales, sales_input, void_invoice, write_sales
from .time import delete_time_activity, write_time_activity

if TYPE_CHECKING:
    from ..store import Store

WRITABLE = {*PEOPLE, "Item", *SALES_TXNS, "Payment", "TimeActivity"}


def present(store: Store, realm_id: str, entity: str, obj: dict) -> dict:
    """A stored record as the API returns it."""
    return render(with_computed(store, realm_id, entity, [obj])[0])


def read(store: Store, realm_id: str, entity: str, obj_id: str) -> dict:
    obj = store.raw(realm_id, entity, obj_id)
    if obj is None:
        raise not_found(f"{entity} Id={obj_id}")
    return {entity: present(store, realm_id, entity, obj)}


def write(store: Store, realm_id: str, entity: str, body: Any,
          params: dict[str, str]) -> dict:
    """POST /{entity}[?operation=...]: returns ``{entity: record}``."""
    if not isinstance(body, dict):
        raise required(entity)
    body = normalize(_input(store, realm_id, entity, body))
    op = (params.get("operation") or "").lower()
    include = (params.get("include") or "").lower()
    if entity not in WRITABLE:
        raise business(f"{entity} is read-only in this API (set it up in QuickBooks itself).")
    if op == "delete":
        if entity in NAME_LISTS:
            raise business(f"A {entity} can't be deleted; make it inactive with a sparse "
                           'update {"Active": false}.', "Id")
        obj_id = _id(body)
        if entity == "Payment":
            tomb = delete_payment(store, realm_id, body)
        elif entity == "TimeActivity":
            tomb = delete_time_activity(store, realm_id, body)
        else:
            tomb = delete_sales(store, realm_id, entity, obj_id, body)
        return {entity: {k: tomb[k] for k in ("status", "domain", "Id")}}
    if op == "void" or (entity == "Payment" and op == "update" and "void" in include):
        obj_id = _id(body)
        if entity == "Invoice":
            obj = void_invoice(store, realm_id, obj_id, body)
        elif entity == "Payment":
            obj = void_payment(store, realm_id, body)
        else:
            raise business(f"Void is supported for Invoice and Payment, not {entity}; delete "
                           "the transaction instead.")
        return {entity: present(store, realm_id, entity, obj)}
    if op not in ("", "create", "update"):
        raise unsupported(f"Operation {op!r} is not supported for {entity}.")
    if entity in PEOPLE:
        obj = write_person(store, realm_id, entity, body)
    elif entity == "Item":
        obj = write_item(store, realm_id, body)
    elif entity == "Payment":
        obj = write_payment(store, realm_id, body, params)
    elif entity == "TimeActivity":
        obj = write_time_activity(store, realm_id, body)
    else:
        obj = write_sales(store, realm_id, entity, body, params)
    return {entity: present(store, realm_id, entity, obj)}


def send_invoice(store: Store, realm_id: str, obj_id: str, send_to: str) -> dict:
    """POST /invoice/{id}/send: marks the invoice as emailed (no mail leaves)."""
    inv = store.raw(realm_id, "Invoice", obj_id)
    if inv is None:
        raise not_found(f"Invoice Id={obj_id}")
    address = send_to or (inv.get("BillEmail") or {}).get("Address")
    if not address:
        raise required("sendTo (or BillEmail on the invoice)")
    inv["BillEmail"] = {"Address": address}
    inv["EmailStatus"] = "EmailSent"
    inv["DeliveryInfo"] = {"DeliveryType": "Email",
                           "DeliveryTime": inv["MetaData"]["LastUpdatedTime"]}
    store.save(realm_id, "Invoice", inv, "Update")
    return {"Invoice": present(store, realm_id, "Invoice", inv)}


def _input(store: Store, realm_id: str, entity: str, body: dict) -> dict:
    """QBO ignores read-only fields on input, so they are dropped before numbers are
    checked: ``"TotalAmt": ""`` on an invoice is not a fault (docs/qbo-rules.md §5.2-§5.5)."""
    if entity in SALES_TXNS:
        return sales_input(body, us=is_us(store.info(realm_id)))
    if entity == "Payment":
        return payment_input(body)
    return body


def _id(body: dict) -> str:
    if body.get("Id") in (None, ""):
        raise required("Id")
    return str(body["Id"])
