"""Builders shared by the mapping tests: mapping contexts and the host's data objects
(``qbo_sync.data``), with every field defaulted so a test names only what it is about."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from qbo_sync.data import InvoiceData, LineData, PaymentData
from qbo_sync.mapping import MappingContext

D = Decimal


def make_ctx(**overrides) -> MappingContext:
    """A UK-style company (non-US, GBP, no multicurrency) with all defaults set."""
    values = dict(
        is_us=False,
        multicurrency=False,
        home_currency="GBP",
        currencies=frozenset({"GBP"}),
        allow_discount=True,
        number_strategy="app",
        default_item_id="1",
        default_tax_code_id="20",
        default_deposit_account_id="35",
        tax_map={"20.00": "3", "0.00": "7"},
        item_map={"consulting": "11"},
    )
    values.update(overrides)
    return MappingContext(**values)


def us_ctx(**overrides) -> MappingContext:
    values = dict(
        is_us=True, home_currency="USD", currencies=frozenset({"USD"}),
        default_tax_code_id="", tax_map={},
    )
    values.update(overrides)
    return make_ctx(**values)


def multi_ctx(**overrides) -> MappingContext:
    values = dict(multicurrency=True, currencies=frozenset({"GBP", "EUR", "USD"}))
    values.update(overrides)
    return make_ctx(**values)


def make_line(**overrides) -> LineData:
    values = dict(description="Work", quantity=D("1"), unit_price=D("100.00"), tax_rate="20.00")
    values.update(overrides)
    return LineData(**values)


def make_invoice(*lines: LineData, **overrides) -> InvoiceData:
    values = dict(
        key="42", workspace="w", number="INV-001", status="sent", contact_key="7",
        issue_date=date(2024, 3, 1), due_date=date(2024, 3, 31), currency="GBP",
        lines=lines or (make_line(),),
    )
    values.update(overrides)
    return InvoiceData(**values)


def make_payment(**overrides) -> PaymentData:
    values = dict(
        key="p1", workspace="w", invoice_key="42", contact_key="7", amount=D("120.00"),
        date=date(2024, 3, 5), currency="GBP", method="Card", reference="ch_123",
    )
    values.update(overrides)
    return PaymentData(**values)
