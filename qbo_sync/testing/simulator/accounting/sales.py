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

# What QBO computes on a sales form: read-only, so ignored on input whatever it holds
# (null, "", 0, a number as a string) (docs/qbo-rules.md §5.2 "Read-only", §5.4, §5.5).
SALES_OUTPUT = frozenset({"TotalAmt", "Balance", "HomeTotalAmt", "HomeBalance",
                          "RemainingCredit", "LinkedTxn", "InvoiceLink", "MetaData", "domain",
                          "time"})
SALES_READ_ONLY = {"Id", "SyncToken", "sparse", *SALES_OUTPUT}
TAX_LINE_OUTPUT = ("TaxPercent", "NetAmountTaxable")
ZERO = Decimal("0")


def sales_input(body: dict, *, us: bool) -> dict:
    """The request as QBO reads it, before any value is checked: without the read-only
    fields, the generated SubTotalLine, a line's TaxInclusiveAmt and the computed parts of
    TxnTaxDetail, so a client echoing a record it read back is not refused."""
    out = {k: v for k, v in body.items() if k not in SALES_OUTPUT}
    if isinstance(out.get("Line"), list):
        # docs/qbo-rules.md §5.2: SubTotalLineDetail is generated and read-only.
        out["Line"] = [_line_input(ln) for ln in out["Line"]
                       if not (isinstance(ln, dict)
                               and ln.get("DetailType") == "SubTotalLineDetail")]
    if isinstance(out.get("TxnTaxDetail"), dict):
        out["TxnTaxDetail"] = _tax_input(out["TxnTaxDetail"], us=us)
    return out


def _line_input(line: object) -> object:
    if not isinstance(line, dict):
        return line
    out = dict(line)
    if out.get("DetailType") in ("DescriptionOnly", "DescriptionLineDetail"):
        out.pop("Amount", None)  # a text line carries no amount (§5.2)
    detail = out.get("SalesItemLineDetail")
    if isinstance(detail, dict) and "TaxInclusiveAmt" in detail:
        # docs/qbo-rules.md §5.2, §11: the simulator reports TaxInclusiveAmt (gross) and
        # never reads it; the line's Amount is what it prices.
        out["SalesItemLineDetail"] = {k: v for k, v in detail.items()
                                      if k != "TaxInclusiveAmt"}
    return out


def _tax_input(detail: dict, *, us: bool) -> dict:
    """docs/qbo-rules.md §5.2 "Tax: US vs non-US": US AST reads TotalTax (the override)
    and its TaxLine is output; non-US reads each TaxLine's TaxRateRef and Amount (the
    override), TotalTax is their sum and TaxPercent/NetAmountTaxable are computed."""
    if us:
        return {k: v for k, v in detail.items() if k != "TaxLine"}
    out = {k: v for k, v in detail.items() if k not in ("TotalTax", "TaxLine")}
    sent = detail.get("TaxLine")
    if isinstance(sent, list):
        out["TaxLine"] = [_tax_line_input(tl) for tl in sent if isinstance(tl, dict)]
    return out


def _tax_line_input(tax_line: dict) -> dict:
    detail = tax_line.get("TaxLineDetail")
    if not isinstance(detail, dict):
        return tax_line
    return {**tax_line, "TaxLineDetail": {k: v for k, v in detail.items()
                                          if k not in TAX_LINE_OUTPUT}}


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
    # Tax overrides count only when this request sends them (docs/qbo-rules.md §5.2): the
    # stored TxnTaxDetail a sparse update keeps is the last result, not an instruction.
    tax_in = body.get("TxnTaxDetail")
    previous = existing.get("Line", []) if existing else []
    total = money(price_lines(store, realm_id, obj, previous, customer=customer,
                              tax_in=tax_in if isinstance(tax_in, dict) else None))
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

