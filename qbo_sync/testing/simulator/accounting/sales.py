"""Invoice, CreditMemo and RefundReceipt: create, full/sparse update, void, delete
(docs/qbo-rules.md §5.2, §5.4, §5.5)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ..companies import exchange_rate
from ..entities import ApiError, business, money
from .balances import applied_total, refresh_balance, unlink_from_payments
from .lines import price_lines
from .names import existing_for_update, merge
from .rules import check_doc_number, check_same_currency, resolve_currency, resolve_ref

if TYPE_CHECKING:
    from ..store import Store

SALES_READ_ONLY = {"Id", "SyncToken", "MetaData", "domain", "sparse", "TotalAmt", "Balance",
                   "HomeTotalAmt", "HomeBalance", "LinkedTxn", "RemainingCredit", "time"}
ZERO = Decimal("0")


def _next_doc_number(store: Store, realm_id: str) -> str:
    numbers = [int(o["DocNumber"]) for o in store.raw_all(realm_id, "Invoice")
               if str(o.get("DocNumber") or "").isdigit()]
    return str(max(numbers, default=1000) + 1)


def _compute(store: Store, realm_id: str, entity: str, obj: dict, existing: dict | None,
             body: dict, params: dict[str, str]) -> dict:
    info = store.info(realm_id)
    customer = resolve_ref(store, realm_id, "Customer", obj.get("CustomerRef"), "CustomerRef",
                           needed=entity != "RefundReceipt")
    if customer is not None:
        obj["CustomerRef"] = {"value": customer["Id"], "name": customer["DisplayName"]}
    if entity == "RefundReceipt":
        account = resolve_ref(store, realm_id, "Account", obj.get("DepositToAccountRef"),
                              "DepositToAccountRef")
        if account["AccountType"] not in ("Bank", "Other Current Asset"):
            raise business("DepositToAccountRef must be a Bank or Other Current Asset "
                           "account.", "DepositToAccountRef")
        obj["DepositToAccountRef"] = {"value": account["Id"], "name": account["Name"]}
    if not obj.get("Line"):
        raise ApiError("2020", "Required param missing, need to supply the required value "
                       "for the API", "Required parameter Line is missing in the request",
                       element="Line")
    ccy = resolve_currency(store, realm_id, obj.get("CurrencyRef"))
    if customer is not None:
        check_same_currency(ccy["value"], customer)
    obj["CurrencyRef"] = ccy
    if info["multicurrency"]:
        if obj.get("ExchangeRate") is None or ccy["value"] == info["home_currency"]:
            obj["ExchangeRate"] = exchange_rate(info["home_currency"], ccy["value"])
    else:
        obj.pop("ExchangeRate", None)
    allow_dup = "allowduplicatedocnum" in params.get("include", "").lower()
    if existing is None or obj.get("DocNumber") != existing.get("DocNumber"):
        check_doc_number(store, realm_id, entity, obj.get("DocNumber"),
                         own_id=existing["Id"] if existing else None, allow_duplicates=allow_dup)
    if entity == "Invoice" and existing is None and not obj.get("DocNumber") \
            and not info["custom_txn_numbers"]:
        obj["DocNumber"] = _next_doc_number(store, realm_id)  # §5.2: QBO assigns last + 1
    today = store.clock.now().date()
    obj["TxnDate"] = obj.get("TxnDate") or today.isoformat()
    if entity == "Invoice" and not obj.get("DueDate"):
        obj["DueDate"] = (date.fromisoformat(obj["TxnDate"]) + timedelta(days=30)).isoformat()
    override = (body.get("TxnTaxDetail") or {}).get("TotalTax")
    previous = existing.get("Line", []) if existing else []
    total = money(price_lines(store, realm_id, obj, previous, customer=customer,
                              tax_override=override))
    applied = applied_total(obj)
    if total < applied:
        raise business(f"The new total {total} is less than the {applied} already paid on "
                       f"this {entity}; unapply or delete the payments first.", "Line")
    obj["TotalAmt"] = total
    if entity == "Invoice":
        obj.setdefault("EmailStatus", "NotSet")
        obj.setdefault("PrintStatus", "NotSet")
    refresh_balance(entity, obj)
    return obj


def create_sales(store: Store, realm_id: str, entity: str, body: dict,
                 params: dict[str, str]) -> dict:
    obj = merge(None, body, SALES_READ_ONLY, False)
    obj = _compute(store, realm_id, entity, obj, None, body, params)
    return store.save(realm_id, entity, obj, "Create")


def update_sales(store: Store, realm_id: str, entity: str, body: dict,
                 params: dict[str, str]) -> dict:
    existing = existing_for_update(store, realm_id, entity, body)
    if existing.get("_voided"):
        raise business(f"{entity} {existing['Id']} is voided and can't be changed.")
    obj = merge(existing, body, SALES_READ_ONLY, body.get("sparse") is True)
    obj = _compute(store, realm_id, entity, obj, existing, body, params)
    return store.save(realm_id, entity, obj, "Update")


def write_sales(store: Store, realm_id: str, entity: str, body: dict,
                params: dict[str, str]) -> dict:
    if body.get("Id") not in (None, ""):
        return update_sales(store, realm_id, entity, body, params)
    return create_sales(store, realm_id, entity, body, params)


def void_invoice(store: Store, realm_id: str, invoice_id: str, body: dict | None = None) -> dict:
    """Amounts become 0, PrivateNote gets a "Voided" prefix; payments that were applied
    become unapplied credit (as in the QBO UI). Shows as an update in CDC, ``Void`` in
    webhooks (docs/qbo-rules.md §5.2)."""
    if body is not None:
        existing_for_update(store, realm_id, "Invoice", {**body, "Id": invoice_id})
    unlink_from_payments(store, realm_id, "Invoice", invoice_id)
    inv = store.raw(realm_id, "Invoice", invoice_id)
    for line in inv.get("Line", []):
        if line.get("Amount") is not None:
            line["Amount"] = ZERO
        if "TaxInclusiveAmt" in (line.get("SalesItemLineDetail") or {}):
            line["SalesItemLineDetail"]["TaxInclusiveAmt"] = ZERO
    inv["TxnTaxDetail"] = {"TotalTax": ZERO}
    inv["TotalAmt"] = ZERO
    inv["_applied"] = []
    note = inv.get("PrivateNote") or ""
    inv["PrivateNote"] = "Voided" + (f" - {note}" if note else "")
    inv["_voided"] = True
    refresh_balance("Invoice", inv)
    return store.save(realm_id, "Invoice", inv, "Void")


def delete_sales(store: Store, realm_id: str, entity: str, txn_id: str,
                 body: dict | None = None, *, unlink_payments: bool = False) -> dict:
    """Delete a transaction. Through the API an invoice or credit memo that payments are
    applied to can't be deleted (docs/qbo-rules.md §5.2: unlink or delete the payments first)."""
    if body is not None:
        existing_for_update(store, realm_id, entity, {**body, "Id": txn_id})
    obj = store.raw(realm_id, entity, txn_id)
    if obj.get("_applied"):
        if not unlink_payments:
            ids = ", ".join(a["TxnId"] for a in obj["_applied"])
            raise business(f"This {entity} is linked to Payment {ids}; delete the payments or "
                           "remove this transaction from them before deleting it.",
                           "LinkedTxn")
        unlink_from_payments(store, realm_id, entity, txn_id)
    return store.delete(realm_id, entity, txn_id)

