"""The app's figures for a document, QuickBooks' figures from a write response, and the
explanation when they differ (docs/qbo-rules.md §5.2 "Tax: US vs non-US").

Pure: the push layer calls :func:`compare` with the write's own response, so checking
costs no extra QuickBooks call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..data import LineData
from .context import MappingContext
from .lines import inclusive_split, lines_total, priced_line, resolve_tax_code
from .text import money_str, round_money

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
PRIVATE_NOTE_MAX = 4000


@dataclass(frozen=True)
class Figures:
    """A document's total, tax and (when known) what is still open."""

    total: Decimal
    tax: Decimal
    balance: Decimal | None = None


def _rate(key: str) -> Decimal | None:
    try:
        value = Decimal((key or "0").strip().rstrip("%").strip() or "0")
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def derived_tax(lines: Sequence[LineData], *, discount: Decimal = ZERO,
                tax_after_discount: bool = True) -> Decimal | None:
    """Tax from the lines' numeric rate keys, when the app states no tax figure.

    Each rate's net is summed, reduced in proportion by a document discount taken
    before tax, and rounded once, the way QuickBooks' TxnTaxDetail keeps one TaxLine
    per rate. ``None`` when a rate key is not a number (the tax is then unknown).
    """
    nets: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = _rate(line.tax_rate)
        if rate is None:
            return None
        nets[rate] = nets.get(rate, ZERO) + priced_line(line)[2]
    subtotal = sum(nets.values(), ZERO)
    factor = Decimal(1)
    if discount and tax_after_discount and subtotal:
        factor = (subtotal - round_money(discount)) / subtotal
    return sum((round_money(round_money(net * factor) * rate / HUNDRED)
                for rate, net in nets.items()), ZERO)


def _rate_taxes(lines: Sequence[LineData], *, discount: Decimal,
                tax_after_discount: bool) -> dict[str, Decimal] | None:
    """Tax per rate key, each rate's net rounded once (the rule of :func:`derived_tax`)."""
    nets: dict[str, Decimal] = {}
    for line in lines:
        if _rate(line.tax_rate) is None:
            return None
        nets[line.tax_rate] = nets.get(line.tax_rate, ZERO) + priced_line(line)[2]
    subtotal = sum(nets.values(), ZERO)
    factor = Decimal(1)
    if discount and tax_after_discount and subtotal:
        factor = (subtotal - round_money(discount)) / subtotal
    return {key: round_money(round_money(net * factor) * (_rate(key) or ZERO) / HUNDRED)
            for key, net in nets.items()}


def tax_line_overrides(doc: Any, ctx: MappingContext) -> list[dict[str, Any]] | None:
    """Non-US: ``TxnTaxDetail.TaxLine`` entries that make QuickBooks keep the app's tax,
    one per TaxRate (QBO honours a sent TaxLine amount, docs/qbo-rules.md §5.2).

    ``None`` when the amounts cannot be placed: a rate key that is not a number, or a
    tax code that charges no rate or several (the split between them is QBO's).
    """
    if doc.prices_include_tax:
        split = inclusive_split(doc.lines)
        taxes = split[1] if split else None
    else:
        taxes = _rate_taxes(doc.lines, discount=doc.discount, tax_after_discount=True)
    if taxes is None:
        return None
    by_rate: dict[str, Decimal] = {}
    for key, tax in taxes.items():
        line = next(ln for ln in doc.lines if ln.tax_rate == key)
        rates = ctx.tax_code_rates.get(resolve_tax_code(line, ctx), ())
        if len(rates) != 1:
            return None
        by_rate[rates[0]] = by_rate.get(rates[0], ZERO) + tax
    if doc.tax_total is not None and by_rate:
        # The app's stated tax wins; the cents its own rule differs by go on the
        # largest rate, where they matter least.
        largest = max(by_rate, key=lambda r: by_rate[r])
        by_rate[largest] += round_money(doc.tax_total) - sum(by_rate.values(), ZERO)
    return [{"Amount": amount, "DetailType": "TaxLineDetail",
             "TaxLineDetail": {"TaxRateRef": {"value": rate_id}}}
            for rate_id, amount in by_rate.items()]


def app_figures(doc: Any, *, is_us: bool = True) -> Figures | None:
    """The app's figures for an invoice, credit memo or refund (``data`` dataclasses).

    The adapter's ``tax_total`` / ``total`` win; otherwise they are derived from the
    lines. ``None`` when the tax cannot be known. ``is_us``: only US companies can tax
    before a discount (``ApplyTaxAfterDiscount``), so elsewhere tax is always after it.
    """
    after = doc.tax_after_discount or not is_us
    tax = doc.tax_total
    if tax is None and doc.prices_include_tax:
        split = inclusive_split(doc.lines)
        tax = sum(split[1].values(), ZERO) if split else None
    elif tax is None:
        tax = derived_tax(doc.lines, discount=doc.discount, tax_after_discount=after)
    if tax is None:
        return None
    total = doc.total
    if total is None and doc.prices_include_tax:
        total = lines_total(doc.lines)  # the prices already hold the tax
    elif total is None:
        total = lines_total(doc.lines) - round_money(doc.discount) + tax
    return Figures(total=total, tax=tax, balance=getattr(doc, "balance", None))


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def quickbooks_figures(obj: Mapping[str, Any]) -> Figures | None:
    """TotalAmt, TxnTaxDetail.TotalTax and Balance from a write response."""
    total = _dec(obj.get("TotalAmt"))
    if total is None:
        return None
    tax = _dec((obj.get("TxnTaxDetail") or {}).get("TotalTax")) or ZERO
    return Figures(total=total, tax=tax, balance=_dec(obj.get("Balance")))


def _tax_percents(obj: Mapping[str, Any]) -> list[Decimal]:
    lines = (obj.get("TxnTaxDetail") or {}).get("TaxLine") or []
    found = [_dec((ln.get("TaxLineDetail") or {}).get("TaxPercent")) for ln in lines]
    return [p for p in found if p is not None]


def _app_percents(lines: Sequence[LineData]) -> list[Decimal]:
    rates = {_rate(line.tax_rate) for line in lines}
    return sorted(r for r in rates if r)


def _pct(values: Sequence[Decimal]) -> str:
    return " + ".join(f"{v.normalize():f} %" for v in values) or "no tax"


def _cause(app: Figures, qbo: Figures, obj: Mapping[str, Any], lines: Sequence[LineData],
           *, is_us: bool, authority: str) -> tuple[str, str]:
    if app.tax != qbo.tax:
        if is_us and authority == "quickbooks":
            cause = ("QuickBooks computed sales tax from the customer's address: "
                     f"{_pct(_tax_percents(obj))} instead of {_pct(_app_percents(lines))}")
            if qbo.tax == 0:
                cause = ("QuickBooks charged no sales tax (the customer or the lines are "
                         "not taxable there)")
            return cause, ("set Settings → Tax authority to the app so QuickBooks keeps the "
                           "app's tax, or correct the rate or the customer's address")
        if is_us:
            return ("QuickBooks did not keep the app's sales tax",
                    "check that sales tax is turned on in QuickBooks (Taxes → Sales tax), "
                    "then retry")
        return (f"QuickBooks' tax codes give {_pct(_tax_percents(obj))}, the app's rates "
                f"{_pct(_app_percents(lines))}",
                "map each tax rate to a QuickBooks tax code with the same rate "
                "(Settings → Tax mappings), then retry")
    if app.total != qbo.total:
        return ("the lines add up differently in QuickBooks (a discount or rounding rule "
                "differs)", "compare the lines in this job's payload and response, then "
                "correct the document or the item and tax mappings")
    return ("QuickBooks has different payments or credits applied",
            "record the payment that is missing on the side that lacks it")


def compare(app: Figures, qbo: Figures, obj: Mapping[str, Any],
            lines: Sequence[LineData], *, is_us: bool, authority: str) -> dict[str, Any]:
    """``{}`` when QuickBooks stores the app's figures to the cent; otherwise both sets
    of figures, the differences, the likely cause, the fix and a one-line message."""
    diffs: dict[str, str] = {}
    for name in ("total", "tax", "balance"):
        mine, theirs = getattr(app, name), getattr(qbo, name)
        if mine is not None and theirs is not None and mine != theirs:
            diffs[name] = money_str(theirs - mine)
    if not diffs:
        return {}
    cause, fix = _cause(app, qbo, obj, lines, is_us=is_us, authority=authority)
    figure = next(iter(diffs))
    label = {"total": "total", "tax": "tax", "balance": "open balance"}[figure]
    message = (f"Totals differ: QuickBooks {label} {money_str(getattr(qbo, figure))}, "
               f"the app's {money_str(getattr(app, figure))} (difference "
               f"{diffs[figure]}). {cause[0].upper()}{cause[1:]}: {fix}.")
    return {
        "app": _plain(app),
        "quickbooks": _plain(qbo),
        "difference": diffs,
        "cause": cause,
        "fix": fix,
        "message": message,
    }


def _plain(figures: Figures) -> dict[str, str | None]:
    return {"total": money_str(figures.total), "tax": money_str(figures.tax),
            "balance": None if figures.balance is None else money_str(figures.balance)}


def rounding_adjusted(payload: Mapping[str, Any], gap: Decimal, *, item_id: str,
                      tax_code: str | None) -> dict[str, Any]:
    """``payload`` plus one untaxed line of ``gap`` on the Rounding item, and a note.

    The line keeps Amount = Qty × UnitPrice (1 × gap) and sits before any discount line,
    so QuickBooks' total moves by exactly ``gap``.
    """
    lines = [dict(ln) for ln in payload.get("Line") or []]
    sales = [ln for ln in lines if ln.get("DetailType") != "DiscountLineDetail"]
    rest = [ln for ln in lines if ln.get("DetailType") == "DiscountLineDetail"]
    detail: dict[str, Any] = {"ItemRef": {"value": item_id}, "Qty": Decimal(1),
                              "UnitPrice": gap}
    if tax_code:
        detail["TaxCodeRef"] = {"value": tax_code}
    sales.append({"DetailType": "SalesItemLineDetail", "Amount": gap,
                  "Description": "Rounding", "SalesItemLineDetail": detail})
    for number, line in enumerate(sales + rest, start=1):
        line["LineNum"] = number
    text = f"Rounding adjustment {money_str(gap)} to match the app's total."
    # Keep the note's end: the push's marker is there (4,000 characters at most, §5.2).
    note = (payload.get("PrivateNote") or "").strip()[-(PRIVATE_NOTE_MAX - len(text) - 1):]
    return {**payload, "Line": sales + rest,
            "PrivateNote": f"{text}\n{note}" if note else text}
