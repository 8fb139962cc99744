"""Sales-form lines: validation, discount and tax, for Invoice, CreditMemo and
RefundReceipt (docs/qbo-rules.md §5.2 "Line types" and "Tax: US vs non-US").

Tax model (kept simple and documented):
- US (AST): a line's TaxCodeRef is ``TAX`` or ``NON`` (``NON`` when omitted). TAX
  lines are taxed at the fixed ``US_AST_RATE``; a customer with ``Taxable: false`` pays
  none. A ``TxnTaxDetail.TotalTax`` sent in the request is honoured
  as an override. With ``ApplyTaxAfterDiscount`` the discount reduces the taxable base.
- Non-US: every sales line needs a real TaxCode; tax per rate is computed from the rates
  of each code. ``TaxExcluded`` (default) adds the tax on top of the line amounts.
  ``TaxInclusive`` follows docs/qbo-rules.md's reading that ``Amount`` is the net amount: the tax
  is computed the same way and each line also reports ``TaxInclusiveAmt`` (gross).
  ``NotApplicable`` means no tax. The discount scales each rate's taxable base. The
  simulator always recalculates non-US tax (any TxnTaxDetail sent is replaced).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..companies import US_AST_RATE, is_us
from ..entities import ApiError, business, clone, dec, invalid_ref, money, ref_value, required
from .rules import resolve_ref

if TYPE_CHECKING:
    from ..store import Store

ZERO = Decimal("0")
ITEM_REF = "Line.SalesItemLineDetail.ItemRef"
TAX_REF = "Line.SalesItemLineDetail.TaxCodeRef"


def _line_ids(lines: list[dict], previous: list[dict]) -> None:
    """Lines keep an Id that exists on the stored record; others get a new one."""
    known = {str(p.get("Id")) for p in previous if p.get("Id")}
    taken = [int(i) for i in known if i.isdigit()]
    nxt = max(taken, default=0) + 1
    for line in lines:
        if str(line.get("Id")) not in known:
            line["Id"] = str(nxt)
            nxt += 1


def _sales_line(store: Store, realm_id: str, line: dict, us: bool, mode: str) -> tuple[
        dict, str | None]:
    """Validate one SalesItemLine; returns it normalised and its tax code id."""
    detail = dict(line.get("SalesItemLineDetail") or {})
    if line.get("Amount") is None:
        raise required("Line.Amount")
    amount = dec(line["Amount"])
    # Without an ItemRef QBO falls back to the default "Services" item, Id 1 (§5.2).
    item = resolve_ref(store, realm_id, "Item", detail.get("ItemRef") or {"value": "1"},
                       ITEM_REF)
    detail["ItemRef"] = {"value": item["Id"], "name": item["Name"]}
    qty, price = detail.get("Qty"), detail.get("UnitPrice")
    if qty is not None and price is not None:
        expected = money(dec(qty, "Qty") * dec(price, "UnitPrice"))
        if money(amount) != expected or amount != money(amount):
            # docs/qbo-rules.md §4.2 6070: Amount must equal round(Qty x UnitPrice, 2), half-up.
            raise ApiError("6070", "Amount is not equal to UnitPrice * Qty",
                           f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                           element="Line.Amount")
    code = ref_value(detail.get("TaxCodeRef"))
    if us:
        code = code or "NON"  # only lines explicitly marked TAX are taxed
        if code not in ("TAX", "NON"):
            raise invalid_ref(f"{TAX_REF} (a US company takes TAX or NON on lines)")
    elif code is None:
        if mode != "NotApplicable":
            raise business("Make sure all your transactions have a VAT rate before you save: "
                           "every sales line needs TaxCodeRef set to a TaxCode Id.", TAX_REF)
    else:
        resolve_ref(store, realm_id, "TaxCode", {"value": code}, TAX_REF)
    if code is not None:
        detail["TaxCodeRef"] = {"value": code}
    out = {**clone(line), "Amount": amount, "DetailType": "SalesItemLineDetail",
           "SalesItemLineDetail": detail}
    return out, code


def _discount(store: Store, realm_id: str, line: dict, subtotal: Decimal) -> dict:
    prefs = store.raw(realm_id, "Preferences", "1") or {}
    if not prefs.get("SalesFormsPrefs", {}).get("AllowDiscount"):
        raise business("Discounts are turned off for this company; turn on Discount in "
                       "Account and Settings → Sales → Sales form content, or remove the "
                       "DiscountLineDetail line.", "Line.DiscountLineDetail")
    detail = dict(line.get("DiscountLineDetail") or {})
    if detail.get("PercentBased"):
        if detail.get("DiscountPercent") is None:
            raise required("Line.DiscountLineDetail.DiscountPercent")
        pct = dec(detail["DiscountPercent"], "DiscountPercent")
        amount = money(subtotal * pct / 100)
    else:
        if line.get("Amount") is None:
            raise required("Line.Amount")
        amount = money(dec(line["Amount"]))
    if amount < 0 or amount > subtotal:
        raise business(f"The discount {amount} must be between 0 and the subtotal {subtotal}.",
                       "Line.DiscountLineDetail")
    acct_id = ref_value(detail.get("DiscountAccountRef")) or \
        prefs.get("SalesFormsPrefs", {}).get("DefaultDiscountAccount", "6")
    account = resolve_ref(store, realm_id, "Account", {"value": acct_id},
                          "Line.DiscountLineDetail.DiscountAccountRef")
    detail["DiscountAccountRef"] = {"value": account["Id"], "name": account["Name"]}
    return {**clone(line), "Amount": amount, "DetailType": "DiscountLineDetail",
            "DiscountLineDetail": detail}


def price_lines(store: Store, realm_id: str, obj: dict, previous: list[dict], *,
                customer: dict | None, tax_override: Any) -> Decimal:
    """Normalise ``obj["Line"]``, set ``TxnTaxDetail`` and return TotalAmt."""
    info = store.info(realm_id)
    us = is_us(info)
    mode = obj.get("GlobalTaxCalculation") or "TaxExcluded"
    if not us and mode not in ("TaxExcluded", "TaxInclusive", "NotApplicable"):
        raise ApiError("2170", "Invalid Enumeration", f"Invalid Enumeration : {mode}",
                       element="GlobalTaxCalculation")
    raw = [ln for ln in obj.get("Line") or [] if ln.get("DetailType") != "SubTotalLineDetail"]
    if not raw:
        raise required("Line")
    lines: list[dict] = []
    codes: list[str | None] = []
    discount_in: dict | None = None
    for line in raw:
        kind = line.get("DetailType")
        if kind == "SalesItemLineDetail":
            out, code = _sales_line(store, realm_id, line, us, mode)
            lines.append(out)
            codes.append(code)
        elif kind == "DiscountLineDetail":
            if discount_in is not None:
                raise business("Send at most one DiscountLineDetail line.", "Line")
            discount_in = line
        elif kind in ("DescriptionOnly", "DescriptionLineDetail"):
            lines.append({**clone(line), "DetailType": "DescriptionOnly", "Amount": None})
            codes.append(None)
        else:
            raise ApiError("2170", "Invalid Enumeration",
                           f"Invalid Enumeration : Line.DetailType {kind!r} (the simulator "
                           "takes SalesItemLineDetail, DescriptionOnly, DiscountLineDetail)",
                           element="Line.DetailType")
    subtotal = sum((ln["Amount"] for ln in lines if ln["Amount"] is not None), ZERO)
    discount_line = _discount(store, realm_id, discount_in, subtotal) if discount_in else None
    discount = discount_line["Amount"] if discount_line else ZERO
    if us:
        tax = _us_tax(obj, lines, codes, subtotal, discount, customer, tax_override)
    else:
        tax = _vat(store, realm_id, obj, lines, codes, subtotal, discount, mode)
    for num, line in enumerate(lines, start=1):
        line["LineNum"] = num
    tail = [{"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}]
    if discount_line:
        tail.append(discount_line)
    _line_ids(lines + tail[1:], previous)
    obj["Line"] = lines + tail
    return subtotal - discount + tax


def _us_tax(obj: dict, lines: list[dict], codes: list, subtotal: Decimal, discount: Decimal,
            customer: dict | None, override: Any) -> Decimal:
    obj.pop("GlobalTaxCalculation", None)  # not used by US companies (§5.2)
    taxable = sum((ln["Amount"] for ln, c in zip(lines, codes, strict=True) if c == "TAX"),
                  ZERO)
    if customer is not None and customer.get("Taxable") is False:
        taxable = ZERO
    if obj.get("ApplyTaxAfterDiscount") and discount and subtotal:
        taxable -= money(discount * taxable / subtotal)
    if override is not None:
        tax = money(dec(override, "TotalTax"))
    else:
        tax = money(taxable * US_AST_RATE / 100)
    detail: dict[str, Any] = {"TotalTax": tax}
    if tax or taxable:
        detail["TxnTaxCodeRef"] = {"value": "1"}
        detail["TaxLine"] = [{"Amount": tax, "DetailType": "TaxLineDetail", "TaxLineDetail": {
            "TaxRateRef": {"value": "1"}, "PercentBased": True, "TaxPercent": US_AST_RATE,
            "NetAmountTaxable": taxable}}]
    obj["TxnTaxDetail"] = detail
    return tax


def _vat(store: Store, realm_id: str, obj: dict, lines: list[dict], codes: list,
         subtotal: Decimal, discount: Decimal, mode: str) -> Decimal:
    obj["GlobalTaxCalculation"] = mode
    if mode == "NotApplicable":
        obj["TxnTaxDetail"] = {"TotalTax": ZERO}
        return ZERO
    factor = (subtotal - discount) / subtotal if subtotal else Decimal(1)
    nets: dict[str, Decimal] = {}
    for line, code in zip(lines, codes, strict=True):
        if code is None:
            continue
        line_pct = ZERO
        for rate in _rates(store, realm_id, code):
            nets[rate["Id"]] = nets.get(rate["Id"], ZERO) + line["Amount"]
            line_pct += rate["RateValue"]
        if mode == "TaxInclusive":
            line["SalesItemLineDetail"]["TaxInclusiveAmt"] = \
                line["Amount"] + money(line["Amount"] * line_pct / 100)
    tax_lines, total = [], ZERO
    for rate_id, net in nets.items():
        rate = store.raw(realm_id, "TaxRate", rate_id)
        base = money(net * factor)
        amount = money(base * rate["RateValue"] / 100)
        total += amount
        tax_lines.append({"Amount": amount, "DetailType": "TaxLineDetail", "TaxLineDetail": {
            "TaxRateRef": {"value": rate_id, "name": rate["Name"]}, "PercentBased": True,
            "TaxPercent": rate["RateValue"], "NetAmountTaxable": base}})
    obj["TxnTaxDetail"] = {"TotalTax": total, "TaxLine": tax_lines}
    return total


def _rates(store: Store, realm_id: str, code_id: str) -> list[dict]:
    code = store.raw(realm_id, "TaxCode", code_id) or {}
    details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    rates = [store.raw(realm_id, "TaxRate", ref_value(d.get("TaxRateRef"))) for d in details]
    return [r for r in rates if r is not None]
