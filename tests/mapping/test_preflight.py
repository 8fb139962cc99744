"""Mapping: preflight checks find what QBO would reject, each message naming the fix."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qbo_sync.exceptions import ConfigurationError, MappingError
from qbo_sync.mapping import (
    invoice_payload,
    invoice_problems,
    preflight_invoice,
    preflight_payment,
)

from .support import make_ctx, make_invoice, make_line, make_payment, multi_ctx

D = Decimal


def test_clean_invoice_has_no_problems():
    assert preflight_invoice(make_invoice(), make_ctx()) == []


@pytest.mark.parametrize(
    ("invoice", "ctx", "expected"),
    [
        (make_invoice(lines=()), make_ctx(),
         "Invoice INV-001 has no lines: add at least one line"),
        (make_invoice(contact_key=""), make_ctx(),
         "Invoice INV-001 has no contact: choose a customer"),
        (make_invoice(make_line(quantity=D("0"))), make_ctx(),
         "Invoice INV-001, line 1, has quantity 0: set a quantity or drop the line"),
        (make_invoice(make_line(unit_price=None)), make_ctx(),
         "Invoice INV-001, line 1, has no unit price: set a price (0 is allowed)"),
        (make_invoice(make_line(quantity=None)), make_ctx(),
         "Invoice INV-001, line 1, has no quantity: set a quantity"),
        (make_invoice(make_line(unit_price=1.5)), make_ctx(),
         "Invoice INV-001, line 1, has unit price 1.5, which is not a Decimal: "
         "make the host adapter pass Decimal values"),
        (make_invoice(make_line(unit_price=D("0.123456"))), make_ctx(),
         "Invoice INV-001, line 1, has unit price 0.123456: round it to at most 5 decimal "
         "places and 10 digits before the point"),
        (make_invoice(make_line(discount=D("-1"))), make_ctx(),
         "Invoice INV-001, line 1, has discount Decimal('-1'): enter the discount as a "
         "positive amount off the line"),
        (make_invoice(make_line(unit_price=D("10"), discount=D("10.01"))), make_ctx(),
         "Invoice INV-001, line 1, has a discount of 10.01 on an amount of 10.00: make the "
         "discount no larger than the line amount"),
        (make_invoice(make_line(unit_price=D("-5"))), make_ctx(),
         "Invoice INV-001 totals -5.00; QuickBooks rejects a negative total: correct the "
         "lines, or record the difference as a credit note"),
        (make_invoice(make_line(tax_rate="12.5")), make_ctx(default_tax_code_id=""),
         "Tax rate 12.5 is not mapped: Settings → Tax mappings"),
        (make_invoice(), make_ctx(default_item_id=""),
         "Default Item is not set: Settings → Default Item"),
        (make_invoice(currency="EUR"), make_ctx(),
         "Invoice INV-001 is in EUR but the QuickBooks company only uses GBP: bill in GBP, "
         "or turn on Multicurrency in QuickBooks (Account and settings → Advanced → "
         "Currency), then reload the company settings"),
        (make_invoice(currency="CHF"), multi_ctx(),
         "Invoice INV-001 is in CHF, which is not in the QuickBooks company's currency list: "
         "add CHF in QuickBooks (Settings → Currencies), then reload the company settings"),
        (make_invoice(currency="euro"), multi_ctx(),
         "Invoice INV-001 has currency 'EURO', which is not an ISO 4217 code: set a "
         "three-letter currency code such as USD, EUR or GBP"),
        (make_invoice(currency="EUR", exchange_rate=D("0")), multi_ctx(),
         "Invoice INV-001 has exchange rate Decimal('0'): set a positive rate (home-currency "
         "units per 1 foreign unit) with at most 5 decimal places"),
        (make_invoice(number="", key="42"), make_ctx(),
         "Invoice id 42 has no number: give it a number, or set Settings → Invoice number "
         "strategy to 'Let QuickBooks number invoices'"),
        (make_invoice(), make_ctx(number_strategy="sometimes"),
         "Invoice number strategy 'sometimes' is unknown: Settings → Invoice number strategy"),
        (make_invoice(discount=D("1")), make_ctx(allow_discount=False),
         "Invoice INV-001 has a discount: turn on discounts in QuickBooks (Account and "
         "settings → Sales → Sales form content → Discount), then reload the company settings"),
        (make_invoice(), make_ctx(global_tax_calculation="Sometimes"),
         "Tax calculation 'Sometimes' is unknown: choose TaxExcluded, TaxInclusive, "
         "NotApplicable"),
    ],
)
def test_preflight_invoice_messages(invoice, ctx, expected):
    assert preflight_invoice(invoice, ctx) == [expected]
    # the payload builder refuses the same invoice with the same message
    with pytest.raises((MappingError, ConfigurationError)) as exc:
        invoice_payload(invoice, ctx, customer_id="9")
    assert str(exc.value) == expected


def test_zero_total_is_allowed():
    invoice = make_invoice(make_line(unit_price=D("0")))
    assert preflight_invoice(invoice, make_ctx()) == []


def test_negative_line_with_positive_total_is_allowed():
    invoice = make_invoice(make_line(unit_price=D("100")), make_line(unit_price=D("-30")))
    assert preflight_invoice(invoice, make_ctx()) == []


def test_same_settings_problem_is_reported_once():
    lines = [make_line(tax_rate="12.5") for _ in range(3)]
    messages = preflight_invoice(make_invoice(*lines), make_ctx(default_tax_code_id=""))
    assert messages == ["Tax rate 12.5 is not mapped: Settings → Tax mappings"]


def test_all_problems_are_collected_and_combined():
    invoice = make_invoice(make_line(quantity=D("0"), tax_rate="12.5"), contact_key="")
    ctx = make_ctx(default_tax_code_id="", default_item_id="")
    problems = invoice_problems(invoice, ctx)
    assert len(problems) == 4
    with pytest.raises(MappingError) as exc:  # mixed data + settings → MappingError
        invoice_payload(invoice, ctx, customer_id="9")
    assert [p.message for p in exc.value.problems] == [p.message for p in problems]
    for problem in problems:
        assert problem.message in str(exc.value)
    assert "Settings → Default Item" in exc.value.fix


def test_only_settings_problems_combine_into_configuration_error():
    invoice = make_invoice(make_line(tax_rate=""))
    ctx = make_ctx(default_item_id="", default_tax_code_id="", tax_map={})
    with pytest.raises(ConfigurationError) as exc:
        invoice_payload(invoice, ctx, customer_id="9")
    assert len(exc.value.problems) == 2


# --- payments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payment", "ctx", "kwargs", "expected"),
    [
        (make_payment(amount=D("0")), make_ctx(), {},
         "Payment id p1 has amount 0.00; QuickBooks needs more than zero: correct the "
         "payment amount"),
        (make_payment(amount=D("-3")), make_ctx(), {},
         "Payment id p1 has amount -3.00; QuickBooks needs more than zero: correct the "
         "payment amount"),
        (make_payment(amount=None), make_ctx(), {},
         "Payment id p1 has amount None; QuickBooks needs more than zero: correct the "
         "payment amount"),
        (make_payment(contact_key=""), make_ctx(), {},
         "Payment id p1 has no contact: choose a customer"),
        (make_payment(), make_ctx(default_deposit_account_id=""), {},
         "Default Deposit Account is not set: Settings → Default Deposit Account"),
        (make_payment(currency="EUR"), multi_ctx(), {"invoice_currency": "GBP"},
         "Payment id p1 is in EUR but its invoice is in GBP: record the payment in the "
         "invoice's currency"),
        (make_payment(currency="CHF"), multi_ctx(), {},
         "Payment id p1 is in CHF, which is not in the QuickBooks company's currency list: "
         "add CHF in QuickBooks (Settings → Currencies), then reload the company settings"),
    ],
)
def test_preflight_payment_messages(payment, ctx, kwargs, expected):
    assert preflight_payment(payment, ctx, **kwargs) == [expected]


@pytest.mark.parametrize(
    ("payment_currency", "invoice_currency"),
    [("GBP", "GBP"), ("", "GBP"), ("gbp", ""), ("EUR", "eur")],
)
def test_payment_currency_match_normalises(payment_currency, invoice_currency):
    payment = make_payment(currency=payment_currency)
    assert preflight_payment(payment, multi_ctx(), invoice_currency=invoice_currency) == []
