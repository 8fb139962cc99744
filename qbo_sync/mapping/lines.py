"""Host lines → QBO sales lines, shared by Invoice, CreditMemo and RefundReceipt
(docs/qbo-rules.md §5.2 "Line types"; §5.4 and §5.5 use the same shapes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..data import LineData
from ..exceptions import ConfigurationError, MappingError
from .context import MappingContext
from .text import CENT, clip, line_amount, problem, round_money

DESCRIPTION_MAX = 4000
US_TAX_CODES = ("TAX", "NON")
# QBO keeps numbers in "10.5 format": at most 5 decimal places (docs/qbo-rules.md §5).
UNIT_PRICE_STEP = Decimal("0.00001")

DISCOUNT_FIX = (
    "turn on discounts in QuickBooks (Account and settings → Sales → Sales form content "
    "→ Discount), then reload the company settings"
)


def resolve_item(line: LineData, ctx: MappingContext) -> str:
    """The QBO Item Id for a line: its category's mapping, else the Default Item.

    Always an explicit ItemRef: a line without one is documentation only (§5.2).
    """
    category = (line.category or "").strip()
    item_id = ctx.item_map.get(category) if category else None
    if item_id:
        return item_id
    if ctx.default_item_id:
        return ctx.default_item_id
    what = "Default Item is not set"
    if category:
        what = f"{what} and line category {category!r} is not mapped"
    fix = "Settings → Default Item" + (" or Settings → Item mappings" if category else "")
    raise problem(ConfigurationError, what, fix)


def _rate_value(key: str) -> Decimal | None:
    """The numeric value of a rate key ("20", "20.00", "20%"), or ``None``."""
    try:
        value = Decimal(key.strip().rstrip("%").strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _lookup_tax(tax_map: Mapping[str, str], key: str) -> str | None:
    """``tax_map[key]``, also matching numerically equal keys ("20" ↔ "20.00")."""
    if key in tax_map:
        return tax_map[key]
    value = _rate_value(key)
    if value is None:
        return None
    for candidate in sorted(tax_map):
        if _rate_value(candidate) == value:
            return tax_map[candidate]
    return None


def resolve_tax_code(line: LineData, ctx: MappingContext) -> str:
    """The line's ``TaxCodeRef`` value (docs/qbo-rules.md §5.2 "Tax: US vs non-US").

    US (AST): the pseudo-code ``TAX`` or ``NON``: the tax mapping if there is one, else
    the Default Tax Code, else ``NON`` for an empty or zero rate and ``TAX`` otherwise.
    Non-US: a real TaxCode Id from the tax mapping, else the Default Tax Code.
    """
    key = (line.tax_rate or "").strip()
    mapped = _lookup_tax(ctx.tax_map, key)
    if ctx.is_us:
        if mapped:
            code = mapped.strip().upper()
            if code not in US_TAX_CODES:
                raise problem(
                    ConfigurationError,
                    f"Tax mapping for rate {key!r} is {mapped!r}, but a US company only "
                    "takes TAX or NON on lines",
                    "Settings → Tax mappings",
                )
            return code
        if ctx.default_tax_code_id:
            # The Default Tax Code is the fallback for unmapped rates, in the US too.
            code = ctx.default_tax_code_id.strip().upper()
            if code not in US_TAX_CODES:
                raise problem(
                    ConfigurationError,
                    f"Default Tax Code is {ctx.default_tax_code_id!r}, but a US company "
                    "only takes TAX or NON on lines",
                    "Settings → Default Tax Code",
                )
            return code
        value = _rate_value(key) if key else Decimal(0)
        return "NON" if value is not None and value == 0 else "TAX"
    if mapped:
        return mapped
    if ctx.default_tax_code_id:
        return ctx.default_tax_code_id
    # Every non-US line needs a real code, or QBO answers 6000 (docs/qbo-rules.md §5.2).
    if key:
        raise problem(
            MappingError, f"Tax rate {key} is not mapped", "Settings → Tax mappings"
        )
    raise problem(
        ConfigurationError,
        "A line has no tax rate and Default Tax Code is not set",
        "Settings → Default Tax Code or Settings → Tax mappings",
    )


def line_discount(line: LineData) -> Decimal:
    """The line's discount rounded to cents (0 when absent)."""
    discount = line.discount if isinstance(line.discount, Decimal) else Decimal(0)
    return round_money(discount)


def priced_line(line: LineData, amount: Decimal | None = None
                ) -> tuple[Decimal, Decimal, Decimal, str]:
    """``(Qty, UnitPrice, Amount, discount note)`` for a line, its discount included.

    A line discount stays on its line as a net unit price, so each line's Amount is
    the app's net amount and QuickBooks taxes exactly what the app taxes. Amount must
    equal round(Qty × UnitPrice, 2) (6070, docs/qbo-rules.md §4.2), and QBO keeps at
    most 5 decimal places (§5): when no such price gives the net amount exactly, the
    line is sent as 1 × the net amount. The note keeps the discount visible.
    ``amount``: the Amount to send instead (a tax-inclusive line's amount before tax).
    """
    gross = line_amount(line.quantity, line.unit_price)
    discount = line_discount(line)
    net = gross - discount if amount is None else amount
    note = (f"{_plain(line.quantity)} × {_plain(line.unit_price)}, "
            f"less discount {discount:.2f}") if discount else ""
    if net == gross:
        return line.quantity, line.unit_price, gross, note
    unit = (net / line.quantity).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)
    if line_amount(line.quantity, unit) == net:
        return line.quantity, _plain_decimal(unit), net, note
    return Decimal(1), net, net, note


def inclusive_split(lines: Sequence[LineData]
                    ) -> tuple[list[Decimal], dict[str, Decimal]] | None:
    """For prices that include tax: each line's amount before tax, and the tax per rate
    key, such that amounts plus taxes give back the app's tax-inclusive total exactly.

    Each rate's tax is taken out once, rounded (tax = gross × r / (100 + r)); the rest
    is shared among that rate's lines, the cent left over going to its largest line.
    ``None`` when a rate key is not a number.
    """
    gross = [priced_line(line)[2] for line in lines]
    rates: dict[str, Decimal] = {}
    for line in lines:
        value = _rate_value(line.tax_rate or "0")
        if value is None:
            return None
        rates[line.tax_rate] = value
    nets = [Decimal(0)] * len(lines)
    taxes: dict[str, Decimal] = {}
    for key, rate in rates.items():
        members = [i for i, line in enumerate(lines) if line.tax_rate == key]
        total = sum((gross[i] for i in members), Decimal("0.00"))
        taxes[key] = round_money(total * rate / (100 + rate))
        for i in members:
            nets[i] = round_money(gross[i] * 100 / (100 + rate))
        largest = max(members, key=lambda i: abs(gross[i]))
        nets[largest] += total - taxes[key] - sum((nets[i] for i in members), Decimal(0))
    return nets, taxes


def _plain_decimal(value: Decimal) -> Decimal:
    """Without trailing zeros beyond cents: 6.66667 stays, 7.50000 becomes 7.50."""
    return value if value != value.quantize(CENT) else value.quantize(CENT)


def _plain(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def sales_lines(
    lines: Sequence[LineData], ctx: MappingContext, *, what: str = "The record",
    amounts: Sequence[Decimal] | None = None,
) -> list[dict[str, Any]]:
    """``SalesItemLineDetail`` lines in host order (``LineNum`` 1, 2, …); a line's
    discount is in its net unit price (:func:`priced_line`). ``amounts``: the Amount
    of each line when it is not the line's own (tax-inclusive prices).

    Expects data that passed the preflight checks.
    """
    result: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        qty, unit_price, amount, note = priced_line(
            line, None if amounts is None else amounts[number - 1])
        detail = {
            "ItemRef": {"value": resolve_item(line, ctx)},
            "Qty": qty,
            "UnitPrice": unit_price,
            "TaxCodeRef": {"value": resolve_tax_code(line, ctx)},
        }
        entry: dict[str, Any] = {
            "LineNum": number,
            "DetailType": "SalesItemLineDetail",
            "Amount": amount,
        }
        text = (line.description or "").strip()
        description = clip(f"{text} ({note})" if text and note else text or note,
                           DESCRIPTION_MAX)
        if description:
            entry["Description"] = description
        entry["SalesItemLineDetail"] = detail
        result.append(entry)
    return result


def discount_payload(
    discount: Decimal, ctx: MappingContext, *, line_num: int, what: str = "The record"
) -> dict[str, Any] | None:
    """The document-level discount as QBO's one ``DiscountLineDetail`` line, or ``None``.

    QBO takes at most one discount line and only with ``AllowDiscount`` on (§5.2).
    """
    if not discount:
        return None
    if not ctx.allow_discount:
        raise problem(MappingError, f"{what} has a discount", DISCOUNT_FIX)
    detail: dict[str, Any] = {"PercentBased": False}
    if ctx.discount_account_id:
        detail["DiscountAccountRef"] = {"value": ctx.discount_account_id}
    return {
        "LineNum": line_num,
        "DetailType": "DiscountLineDetail",
        "Amount": round_money(discount),
        "DiscountLineDetail": detail,
    }


def lines_total(lines: Sequence[LineData]) -> Decimal:
    """What the lines total before tax: line amounts minus their discounts."""
    gross = sum((line_amount(ln.quantity, ln.unit_price) for ln in lines), Decimal("0.00"))
    return gross - sum((line_discount(ln) for ln in lines), Decimal("0.00"))
