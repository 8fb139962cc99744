"""Small helpers shared by the mapping modules: error building, text and money rules."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from ..exceptions import ConfigurationError, MappingError, QBOSyncError

E = TypeVar("E", bound=QBOSyncError)

CENT = Decimal("0.01")
# Amounts are "at most 15 digits in 10.5 format" (docs/qbo-rules.md §5, general rules).
MAX_INTEGER_DIGITS = 10
MAX_DECIMAL_PLACES = 5

_WS_RE = re.compile(r"\s+")


def problem(cls: type[E], what: str, fix: str) -> E:
    """An error whose message is ``"<what is wrong>: <fix>"`` and whose ``fix`` is set."""
    return cls(f"{what}: {fix}", fix=fix)


def combine(problems: Sequence[QBOSyncError]) -> QBOSyncError:
    """One exception for a list of problems found before any call.

    A single problem is returned as is. Several become one ``ConfigurationError`` when
    every one of them is a settings problem, else one ``MappingError``; the list stays
    available as ``.problems``.
    """
    if len(problems) == 1:
        err = problems[0]
    else:
        cls = (
            ConfigurationError
            if all(isinstance(p, ConfigurationError) for p in problems)
            else MappingError
        )
        fixes = list(dict.fromkeys(p.fix for p in problems if p.fix))
        err = cls("; ".join(p.message for p in problems), fix="; ".join(fixes))
    err.problems = list(problems)  # type: ignore[attr-defined]
    return err


def raise_if_any(problems: Sequence[QBOSyncError]) -> None:
    if problems:
        raise combine(problems)


def single_line(value: str) -> str:
    """Control characters (tab, newline, …) become spaces; whitespace collapses."""
    value = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in value or "")
    return _WS_RE.sub(" ", value).strip()


def clean_name(value: str) -> str:
    """A QBO name: no colon, tab or newline (docs/qbo-rules.md §5.1), trimmed, single-spaced.

    A colon separates parent and child in ``FullyQualifiedName``, so "Acme: London"
    becomes "Acme - London"; empty pieces are dropped ("Acme:" → "Acme").
    """
    pieces = [single_line(piece) for piece in (value or "").split(":")]
    return " - ".join(piece for piece in pieces if piece)


def clip(value: str, limit: int) -> str:
    """Cut to ``limit`` characters, without leaving trailing whitespace."""
    value = value or ""
    return value if len(value) <= limit else value[:limit].rstrip()


def as_decimal(value: object) -> Decimal | None:
    """``Decimal`` (or ``int``) as ``Decimal``; anything else (``None``, float) → ``None``.

    Floats are refused on purpose: money stays ``Decimal`` end to end.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    return None


def round_money(value: Decimal) -> Decimal:
    """Round to cents, half away from zero: QBO's own rule for line amounts
    (docs/qbo-rules.md §4.2 code 6070)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """``Amount`` of a sales line: round(Qty × UnitPrice, 2), half-up (6070)."""
    return round_money(quantity * unit_price)


def fits_qbo_number(value: Decimal) -> bool:
    """Whether QBO can store the number: ≤10 integer digits, ≤5 decimal places."""
    sign, digits, exponent = value.normalize().as_tuple()
    assert isinstance(exponent, int)  # finite values only reach here
    decimals = max(0, -exponent)
    integer_digits = max(0, len(digits) + exponent)
    return decimals <= MAX_DECIMAL_PLACES and integer_digits <= MAX_INTEGER_DIGITS


def money_str(value: Decimal) -> str:
    """Money for messages: two decimal places ("20.00")."""
    return f"{round_money(value):.2f}"
