"""The app's figures, QuickBooks' figures and the explanation of a difference."""

from __future__ import annotations

from decimal import Decimal as D

from qbo_sync.mapping.totals import (
    Figures,
    app_figures,
    compare,
    derived_tax,
    quickbooks_figures,
)

from .support import make_invoice, make_line


def test_tax_is_rounded_once_per_rate():
    # Three lines of 0.13 (0.125 rounded): 0.39 at 20 % is 0.078 → 0.08, where rounding
    # each line's tax (0.026 → 0.03) would drift to 0.09.
    drift = [make_line(quantity=D("1"), unit_price=D("0.125"), tax_rate="20")] * 3
    assert derived_tax(drift) == D("0.08")


def test_line_discounts_and_a_document_discount_reduce_the_taxed_amount():
    lines = [make_line(quantity=D("2"), unit_price=D("50.00"), tax_rate="20",
                       discount=D("10.00")),
             make_line(quantity=D("1"), unit_price=D("10.00"), tax_rate="0")]
    assert derived_tax(lines) == D("18.00")
    # 10.00 off 100.00: each rate's base shrinks by a tenth (90 → 81.00, 10 → 9.00)
    assert derived_tax(lines, discount=D("10.00")) == D("16.20")
    assert derived_tax(lines, discount=D("10.00"), tax_after_discount=False) == D("18.00")


def test_a_rate_that_is_not_a_number_leaves_the_tax_unknown():
    assert derived_tax([make_line(tax_rate="standard")]) is None
    assert app_figures(make_invoice(make_line(tax_rate="standard"))) is None
    # ...unless the app states its tax.
    stated = app_figures(make_invoice(make_line(tax_rate="standard"), tax_total=D("1.00")))
    assert stated is not None and stated.tax == D("1.00")


def test_app_figures_prefer_what_the_app_states():
    invoice = make_invoice(make_line(quantity=D("1"), unit_price=D("100.00"), tax_rate="20"),
                           tax_total=D("19.99"), total=D("119.99"), balance=D("19.99"))
    assert app_figures(invoice) == Figures(D("119.99"), D("19.99"), D("19.99"))


def test_quickbooks_figures_read_the_response():
    obj = {"TotalAmt": 108.25, "TxnTaxDetail": {"TotalTax": 8.25}, "Balance": 108.25}
    assert quickbooks_figures(obj) == Figures(D("108.25"), D("8.25"), D("108.25"))
    assert quickbooks_figures({"TotalAmt": 5}) == Figures(D("5"), D("0.00"), None)
    assert quickbooks_figures({}) is None


def _us_response(rate: str, tax: str, total: str) -> dict:
    return {"TotalAmt": total, "Balance": total, "TxnTaxDetail": {
        "TotalTax": tax, "TaxLine": [{"TaxLineDetail": {"TaxPercent": rate}}]}}


def test_equal_to_the_cent_is_no_difference():
    app = Figures(D("105.00"), D("5.00"), D("105.00"))
    obj = _us_response("5", "5.00", "105.00")
    assert compare(app, quickbooks_figures(obj), obj, [], is_us=True, authority="app") == {}


def test_us_address_tax_is_explained_with_both_rates():
    lines = [make_line(unit_price=D("100.00"), tax_rate="5")]
    obj = _us_response("8.25", "8.25", "108.25")
    result = compare(Figures(D("105.00"), D("5.00")), quickbooks_figures(obj), obj, lines,
                     is_us=True, authority="quickbooks")
    assert result["difference"] == {"total": "3.25", "tax": "3.25"}
    assert result["cause"] == ("QuickBooks computed sales tax from the customer's address: "
                               "8.25 % instead of 5 %")
    assert "Tax authority" in result["fix"]
    assert result["message"].startswith(
        "Totals differ: QuickBooks total 108.25, the app's 105.00 (difference 3.25). "
        "QuickBooks computed")
    assert result["app"] == {"total": "105.00", "tax": "5.00", "balance": None}


def test_non_us_tax_difference_points_at_the_tax_mappings():
    lines = [make_line(unit_price=D("100.00"), tax_rate="20")]
    obj = {"TotalAmt": "105.00", "TxnTaxDetail": {"TotalTax": "5.00", "TaxLine": [
        {"TaxLineDetail": {"TaxPercent": 5}}]}}
    result = compare(Figures(D("120.00"), D("20.00")), quickbooks_figures(obj), obj, lines,
                     is_us=False, authority="app")
    assert result["cause"] == "QuickBooks' tax codes give 5 %, the app's rates 20 %"
    assert "Settings → Tax mappings" in result["fix"]


def test_same_tax_other_total_and_balance_only_causes():
    obj = {"TotalAmt": "99.00", "TxnTaxDetail": {"TotalTax": "0"}, "Balance": "99.00"}
    lines_differ = compare(Figures(D("100.00"), D("0.00")), quickbooks_figures(obj), obj, [],
                           is_us=False, authority="app")
    assert "lines add up differently" in lines_differ["cause"]
    obj = {"TotalAmt": "100.00", "TxnTaxDetail": {"TotalTax": "0"}, "Balance": "60.00"}
    balance = compare(Figures(D("100.00"), D("0.00"), D("100.00")), quickbooks_figures(obj),
                      obj, [], is_us=False, authority="app")
    assert balance["difference"] == {"balance": "-40.00"}
    assert balance["message"].startswith("Totals differ: QuickBooks open balance 60.00")
