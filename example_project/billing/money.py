"""Money arithmetic for the billing app. Everything is ``Decimal``; amounts are rounded
half-up to cents, the way invoices are printed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


class PricedLine(Protocol):
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    tax_rate: Decimal


def to_cents(value: Decimal) -> Decimal:
    """Round to two places, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def tax_rate_key(rate: Decimal | int | str) -> str:
    """The stable string a tax rate is known by outside the app, e.g. ``"20.00"``.

    ``Decimal("20")``, ``Decimal("20.0")`` and ``"20.00"`` all give ``"20.00"``, so a
    mapping saved against a key keeps matching however the rate was typed.
    """
    return f"{to_cents(Decimal(rate)):.2f}"


def line_amount(line: PricedLine) -> Decimal:
    """Quantity × unit price, rounded to cents: the same rule QuickBooks applies to a
    line's Amount (docs/qbo-rules.md §5.2), so our totals and theirs agree."""
    return to_cents(Decimal(line.quantity) * Decimal(line.unit_price))


def line_net(line: PricedLine) -> Decimal:
    """Line amount after its discount (an absolute amount off the line)."""
    return line_amount(line) - to_cents(Decimal(line.discount or 0))


def tax_total(lines: Iterable[PricedLine]) -> Decimal:
    """Tax for a set of lines.

    Nets are summed per rate and each rate's tax is rounded once, as tax engines (and
    QuickBooks' TxnTaxDetail, one TaxLine per rate) do, rather than rounding every
    line; per-line rounding drifts by a cent on invoices with many small lines.
    """
    nets: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        nets[to_cents(Decimal(line.tax_rate or 0))] += line_net(line)
    return sum((to_cents(net * rate / HUNDRED) for rate, net in nets.items()), ZERO)


def totals(lines: Iterable[PricedLine]) -> dict[str, Decimal]:
    """gross (before discounts), discount, subtotal (after discounts), tax and total."""
    lines = list(lines)
    gross = sum((line_amount(line) for line in lines), ZERO)
    subtotal = sum((line_net(line) for line in lines), ZERO)
    tax = tax_total(lines)
    return {
        "gross": gross,
        "discount": gross - subtotal,
        "subtotal": subtotal,
        "tax": tax,
        "total": subtotal + tax,
    }
