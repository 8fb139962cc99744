"""Money maths on invoices and their lines: Decimal, half-up cents, discounts, tax."""

from decimal import Decimal

import pytest

from example_project.billing import money
from example_project.billing.models import InvoiceLine

from .conftest import make_invoice

D = Decimal


def line(**fields) -> InvoiceLine:
    return InvoiceLine(**{"quantity": D("1"), "unit_price": D("0"), "discount": D("0"),
                          "tax_rate": D("0"), **fields})


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        ("3", "33.33", "99.99"),
        ("0.3333", "100.00", "33.33"),
        ("1.5", "0.03", "0.05"),  # 0.045 rounds half up, not to even
        ("2.125", "10.00", "21.25"),
        ("7.25", "95.00", "688.75"),
    ],
)
def test_line_amount_is_quantity_times_price_rounded_half_up(quantity, price, expected):
    amount = line(quantity=D(quantity), unit_price=D(price)).amount
    assert amount == D(expected)
    assert isinstance(amount, Decimal)
    assert amount.as_tuple().exponent == -2


def test_discount_is_taken_off_the_line_before_tax():
    item = line(quantity=D("10"), unit_price=D("50.00"), discount=D("50.00"),
                tax_rate=D("20.00"))
    assert item.net_amount == D("450.00")
    assert money.tax_total([item]) == D("90.00")


def test_tax_is_rounded_once_per_rate_not_per_line():
    # Three lines of 0.10 at 5 %: per-line rounding would give 3 × 0.01 = 0.03;
    # the tax on the 0.30 net is 0.015, which rounds to 0.02.
    lines = [line(unit_price=D("0.10"), tax_rate=D("5")) for _ in range(3)]
    assert money.tax_total(lines) == D("0.02")


def test_tax_rate_key_is_stable_however_the_rate_is_written():
    assert money.tax_rate_key(D("20")) == "20.00"
    assert money.tax_rate_key(D("20.0")) == "20.00"
    assert money.tax_rate_key("8.25") == "8.25"
    assert money.tax_rate_key(0) == "0.00"
    assert line(tax_rate=D("5")).tax_rate_key == "5.00"


def test_invoice_totals_mix_rates_discounts_and_payments(uk_contact):
    invoice = make_invoice(uk_contact, [
        {"quantity": D("12.5"), "unit_price": D("80.00"), "tax_rate": D("20.00"),
         "discount": D("100.00"), "category": "development"},
        {"quantity": D("1"), "unit_price": D("49.99"), "tax_rate": D("5.00"),
         "category": "hosting"},
        {"quantity": D("2"), "unit_price": D("120.00"), "tax_rate": D("0.00"),
         "category": "consulting"},
    ])
    # 1000.00 - 100.00 = 900.00 @20 % → 180.00; 49.99 @5 % → 2.4995 → 2.50; 240.00 @0 %
    assert invoice.subtotal == D("1189.99")
    assert invoice.discount_total == D("100.00")
    assert invoice.tax_total == D("182.50")
    assert invoice.total == D("1372.49")
    assert invoice.amount_paid == D("0.00")
    invoice.record_payment(D("372.49"))
    assert invoice.amount_paid == D("372.49")
    assert invoice.balance == D("1000.00")
    assert all(isinstance(v, Decimal) for v in
               (invoice.subtotal, invoice.tax_total, invoice.total, invoice.balance))


def test_void_invoice_owes_nothing(us_contact):
    invoice = make_invoice(us_contact, [{"unit_price": D("10.00")}], status="sent")
    invoice.void()
    assert invoice.total == D("10.00")
    assert invoice.balance == D("0.00")
