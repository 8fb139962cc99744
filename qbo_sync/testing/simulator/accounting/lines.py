"""Sales-form lines: validation, discount and tax, for Invoice, CreditMemo and
RefundReceipt (docs/qbo-rules.md §5.2 "Line types" and "Tax: US vs non-US").

Tax model (kept simple and documented):
- US (AST): a line's TaxCodeRef is ``TAX`` or ``NON`` (``NON`` when omitted). TAX lines
  are taxed at the rate of the state (``CountrySubDivisionCode``) of the transaction's
  ShipAddr, else its BillAddr, else the customer's ShipAddr/BillAddr, looked up in
  ``companies.US_AST_STATE_RATES`` (the simulator's illustrative rates, one seeded TaxRate
  each); no address or an unknown state gives ``US_AST_RATE``. The TaxLine points at that
  TaxRate and shows it as ``TaxPercent``; ``TxnTaxCodeRef`` is always the one seeded AST
  code (a sent one is not read). A customer with ``Taxable: false`` pays none. A
  ``TxnTaxDetail.TotalTax`` sent in the request is honoured as an override (only for that
  request: an update without it computes again). With ``ApplyTaxAfterDiscount`` the
  discount reduces the taxable base.
- Non-US: every sales line needs a real TaxCode; tax per rate is computed from the rates
  of each code. A ``TxnTaxDetail.TaxLine`` sent for a rate the lines use overrides that
  rate's ``Amount`` (money-rounded; ``NetAmountTaxable`` stays computed); rates not sent
  are computed, TaxLines for other rates are ignored, and ``TotalTax`` is the sum of the
  tax lines (a sent ``TotalTax`` is ignored). ``TaxExcluded`` (default) adds the tax on
  top of the line amounts. ``TaxInclusive`` follows docs/qbo-rules.md's reading that
  ``Amount`` is the net amount: the tax is computed (and overridden) the same way and each
  line also reports ``TaxInclusiveAmt`` (gross; output only, ignored on input).
  ``NotApplicable`` means no tax. The discount scales each rate's taxable base.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..companies import AST_DEFAULT_RATE, AST_TAX_CODE, ast_tax_rate_id, is_us
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
                customer: dict | None, tax_in: dict | None) -> Decimal:
    """Normalise ``obj["Line"]``, set ``TxnTaxDetail`` and return TotalAmt. ``tax_in`` is
    the ``TxnTaxDetail`` the request itself sent (its overrides), ``None`` if none."""
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
        tax = _us_tax(store, realm_id, obj, lines, codes, subtotal, discount, customer,
                      tax_in or {})
    else:
        tax = _vat(store, realm_id, obj, lines, codes, subtotal, discount, mode, tax_in or {})
    for num, line in enumerate(lines, start=1):
        line["LineNum"] = num
    tail = [{"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}]
    if discount_line:
        tail.append(discount_line)
    _line_ids(lines + tail[1:], previous)
    obj["Line"] = lines + tail
    return subtotal - discount + tax


def _ast_state(obj: dict, customer: dict | None) -> str | None:
    """The state AST taxes for: the first of the transaction's ShipAddr, its BillAddr, the
    customer's ShipAddr and BillAddr that has a CountrySubDivisionCode
    (docs/qbo-rules.md §5.2 "Tax: US vs non-US": AST works from the ship-to/bill-to address)."""
    sources = [obj.get("ShipAddr"), obj.get("BillAddr")]
    if customer is not None:
        sources += [customer.get("ShipAddr"), customer.get("BillAddr")]
    for addr in sources:
        state = addr.get("CountrySubDivisionCode") if isinstance(addr, dict) else None
        if isinstance(state, str) and state.strip():
            return state.strip().upper()
    return None


def _ast_rate(store: Store, realm_id: str, obj: dict, customer: dict | None) -> dict:
    """The TaxRate AST applies: the simulated rate of the address's state, else the
    default (also when a saved company predates the state rates)."""
    rate_id = ast_tax_rate_id(_ast_state(obj, customer))
    return store.raw(realm_id, "TaxRate", rate_id) \
        or store.raw(realm_id, "TaxRate", AST_DEFAULT_RATE)


def _us_tax(store: Store, realm_id: str, obj: dict, lines: list[dict], codes: list,
            subtotal: Decimal, discount: Decimal, customer: dict | None,
            tax_in: dict) -> Decimal:
    obj.pop("GlobalTaxCalculation", None)  # not used by US companies (§5.2)
    taxable = sum((ln["Amount"] for ln, c in zip(lines, codes, strict=True) if c == "TAX"),
                  ZERO)
    if customer is not None and customer.get("Taxable") is False:
        taxable = ZERO  # docs/qbo-rules.md §5.2: Customer.Taxable affects the result
    if obj.get("ApplyTaxAfterDiscount") and discount and subtotal:
        # docs/qbo-rules.md §5.2: US companies choose the order; after the discount, the
        # discount's share of the taxable lines leaves the base.
        taxable -= money(discount * taxable / subtotal)
    rate = _ast_rate(store, realm_id, obj, customer)
    pct = rate["RateValue"]
    override = tax_in.get("TotalTax")
    if override is not None:
        # docs/qbo-rules.md §5.2: a TotalTax sent in this request is honoured as an override;
        # an update that leaves it out is computed again.
        tax = money(dec(override, "TotalTax"))
    else:
        tax = money(taxable * pct / 100)
    detail: dict[str, Any] = {"TotalTax": tax}
    if tax or taxable:
        detail["TxnTaxCodeRef"] = {"value": AST_TAX_CODE}
        detail["TaxLine"] = [{"Amount": tax, "DetailType": "TaxLineDetail", "TaxLineDetail": {
            "TaxRateRef": {"value": rate["Id"], "name": rate["Name"]}, "PercentBased": True,
            "TaxPercent": pct, "NetAmountTaxable": taxable}}]
    obj["TxnTaxDetail"] = detail
    return tax


def _sent_tax_amounts(tax_in: dict) -> dict[str, Decimal]:
    """Rate Id -> the tax Amount a sent ``TxnTaxDetail.TaxLine`` sets for it."""
    sent: dict[str, Decimal] = {}
    for tax_line in tax_in.get("TaxLine") or []:
        if not isinstance(tax_line, dict) or tax_line.get("Amount") is None:
            continue
        rate_id = ref_value((tax_line.get("TaxLineDetail") or {}).get("TaxRateRef"))
        if rate_id is not None:
            sent[rate_id] = money(dec(tax_line["Amount"], "TxnTaxDetail.TaxLine.Amount"))
    return sent


def _vat(store: Store, realm_id: str, obj: dict, lines: list[dict], codes: list,
         subtotal: Decimal, discount: Decimal, mode: str, tax_in: dict) -> Decimal:
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
            # docs/qbo-rules.md §5.2, §11: Amount is read as net, TaxInclusiveAmt is the gross
            # the simulator reports (any value sent is ignored, see sales.sales_input).
            line["SalesItemLineDetail"]["TaxInclusiveAmt"] = \
                line["Amount"] + money(line["Amount"] * line_pct / 100)
    # docs/qbo-rules.md §5.2: QBO computes the tax from the codes and a sent TaxLine can
    # override it. Only rates the lines use get a tax line; a sent one for another rate is
    # ignored, and each rate's NetAmountTaxable stays computed.
    sent = _sent_tax_amounts(tax_in)
    tax_lines, total = [], ZERO
    for rate_id, net in nets.items():
        rate = store.raw(realm_id, "TaxRate", rate_id)
        base = money(net * factor)
        amount = sent.get(rate_id, money(base * rate["RateValue"] / 100))
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
