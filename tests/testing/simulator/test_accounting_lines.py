"""Line pricing and tax: US Automated Sales Tax from the address, the TotalTax override,
non-US TaxLine overrides, tax-inclusive amounts and discounts (docs/qbo-rules.md §5.2
"Tax: US vs non-US")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from qbo_sync.testing.simulator.companies import (
    UK_REALM,
    US_AST_RATE,
    US_AST_STATE_RATES,
    US_REALM,
)

from .support import Api, line


def d(value: float) -> Decimal:
    return Decimal(str(value))


def addr(state: str | None = None, **extra: Any) -> dict:
    out = {"Line1": "1 Main St", "City": "Town", **extra}
    if state is not None:
        out["CountrySubDivisionCode"] = state
    return out


def tax_line(obj: dict, index: int = 0) -> dict:
    return obj["TxnTaxDetail"]["TaxLine"][index]


def tax_lines(obj: dict) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """Rate Id -> (Amount, TaxPercent, NetAmountTaxable)."""
    out = {}
    for tl in obj["TxnTaxDetail"]["TaxLine"]:
        det = tl["TaxLineDetail"]
        out[det["TaxRateRef"]["value"]] = (d(tl["Amount"]), d(det["TaxPercent"]),
                                           d(det["NetAmountTaxable"]))
    return out


def update(api: Api, obj: dict, entity: str = "Invoice", realm: str | None = None,
           **fields: Any) -> dict:
    body = {"Id": obj["Id"], "SyncToken": obj["SyncToken"],
            "CustomerRef": obj["CustomerRef"], "Line": obj["Line"], **fields}
    kwargs = {"realm": realm} if realm else {}
    return api.ok("POST", entity.lower(), body=body, **kwargs)[entity]


# US Automated Sales Tax ------------------------------------------------------------------

def test_state_rates_are_seeded_as_tax_rates_and_codes_stay_few() -> None:
    api = Api()
    rates = {r["Name"]: r["RateValue"] for r in api.store.all(US_REALM, "TaxRate")}
    assert rates == {"Simulated State Tax": US_AST_RATE,
                     **{f"Simulated {st} Tax": pct for st, pct in US_AST_STATE_RATES.items()}}
    assert US_AST_STATE_RATES["CA"] == Decimal("7.25") and US_AST_STATE_RATES["OR"] == 0
    assert [c["Id"] for c in api.store.all(US_REALM, "TaxCode")] == ["TAX", "NON", "1"]


@pytest.mark.parametrize(("fields", "customer", "pct", "tax"), [
    ({"ShipAddr": addr("CA")}, {}, "7.25", "7.25"),
    ({"BillAddr": addr("NY")}, {}, "8.875", "8.88"),  # 8.875 rounds half-up
    ({"ShipAddr": addr("WA"), "BillAddr": addr("OR")}, {}, "10.1", "10.10"),
    ({"ShipAddr": addr(), "BillAddr": addr("OR")}, {}, "0", "0"),  # ship-to has no state
    ({}, {"ShipAddr": addr("CA"), "BillAddr": addr("NY")}, "7.25", "7.25"),
    ({}, {"BillAddr": addr("WA")}, "10.1", "10.10"),
    ({"BillAddr": addr("TX")}, {"ShipAddr": addr("CA")}, "8.25", "8.25"),  # txn first
    ({"ShipAddr": addr(" ny ")}, {}, "8.875", "8.88"),
    ({"ShipAddr": addr("ZZ")}, {"ShipAddr": addr("CA")}, "8.25", "8.25"),  # unknown state
    ({}, {}, "8.25", "8.25"),  # no address at all
])
def test_ast_rate_comes_from_the_address(fields: dict, customer: dict, pct: str,
                                         tax: str) -> None:
    api = Api()
    cust = api.customer("Addressed", **customer)
    inv = api.invoice(cust["Id"], line(100, tax="TAX"), line(50, tax="NON"), **fields)
    detail = tax_line(inv)["TaxLineDetail"]
    assert d(detail["TaxPercent"]) == Decimal(pct)
    assert d(detail["NetAmountTaxable"]) == Decimal("100")
    assert d(inv["TxnTaxDetail"]["TotalTax"]) == Decimal(tax)
    assert d(inv["TotalAmt"]) == Decimal("150") + Decimal(tax)
    assert inv["TxnTaxDetail"]["TxnTaxCodeRef"]["value"] == "1"
    rate = api.get("TaxRate", detail["TaxRateRef"]["value"])
    assert d(rate["RateValue"]) == Decimal(pct) and detail["TaxRateRef"]["name"] == rate["Name"]


def test_address_change_on_update_changes_the_rate() -> None:
    api = Api()
    cust = api.customer("Mover")
    inv = api.invoice(cust["Id"], line(200, tax="TAX"), ShipAddr=addr("CA"))
    assert d(inv["TxnTaxDetail"]["TotalTax"]) == Decimal("14.50")
    moved = api.ok("POST", "invoice", body={"Id": inv["Id"], "SyncToken": "0", "sparse": True,
                                            "ShipAddr": addr("WA")})["Invoice"]
    assert d(moved["TxnTaxDetail"]["TotalTax"]) == Decimal("20.20")
    assert d(tax_line(moved)["TaxLineDetail"]["TaxPercent"]) == Decimal("10.1")


def test_non_taxable_customer_pays_no_tax_wherever_it_is() -> None:
    api = Api()
    exempt = api.customer("Exempt WA", Taxable=False, ShipAddr=addr("WA"))
    inv = api.invoice(exempt["Id"], line(100, tax="TAX"))
    assert d(inv["TxnTaxDetail"]["TotalTax"]) == 0 and d(inv["TotalAmt"]) == 100
    assert "TaxLine" not in inv["TxnTaxDetail"]


def test_us_tax_applies_to_credit_memos_and_refund_receipts() -> None:
    api = Api()
    cust = api.customer("Refunded", BillAddr=addr("NY"))
    cm = api.ok("POST", "creditmemo", body={"CustomerRef": {"value": cust["Id"]},
                                            "Line": [line(40, tax="TAX")]})["CreditMemo"]
    assert d(cm["TotalAmt"]) == Decimal("43.55")  # 40 x 8.875 % = 3.55
    rr = api.ok("POST", "refundreceipt", body={
        "CustomerRef": {"value": cust["Id"]}, "DepositToAccountRef": {"value": "2"},
        "Line": [line(40, tax="TAX")], "ShipAddr": addr("OR")})["RefundReceipt"]
    assert d(rr["TotalAmt"]) == Decimal("40")


def test_total_tax_override_is_kept_only_while_it_is_sent() -> None:
    api = Api()
    cust = api.customer("Override", ShipAddr=addr("CA"))
    inv = api.invoice(cust["Id"], line(100, tax="TAX"), TxnTaxDetail={"TotalTax": 5})
    assert d(inv["TxnTaxDetail"]["TotalTax"]) == 5 and d(inv["TotalAmt"]) == 105
    detail = tax_line(inv)["TaxLineDetail"]
    assert d(detail["TaxPercent"]) == Decimal("7.25")  # the rate AST picked
    assert d(detail["NetAmountTaxable"]) == 100
    again = update(api, inv, TxnTaxDetail={"TotalTax": "5.004"})
    assert d(again["TxnTaxDetail"]["TotalTax"]) == 5 and d(again["TotalAmt"]) == 105
    dropped = update(api, again)
    assert d(dropped["TxnTaxDetail"]["TotalTax"]) == Decimal("7.25")
    assert d(dropped["TotalAmt"]) == Decimal("107.25")
    over = update(api, dropped, TxnTaxDetail={"TotalTax": 6})
    sparse = api.ok("POST", "invoice", body={"Id": inv["Id"], "SyncToken": over["SyncToken"],
                                             "sparse": True, "PrivateNote": "n"})["Invoice"]
    assert d(sparse["TxnTaxDetail"]["TotalTax"]) == Decimal("7.25")


def test_sent_us_tax_lines_are_output_only() -> None:
    api = Api()
    cust = api.customer("Echo Tax")
    sent = {"TaxLine": [{"Amount": "", "DetailType": "TaxLineDetail", "TaxLineDetail": {
        "TaxRateRef": {"value": "1"}, "TaxPercent": "x", "NetAmountTaxable": ""}}]}
    inv = api.invoice(cust["Id"], line(100, tax="TAX"), TxnTaxDetail=sent)
    assert d(inv["TxnTaxDetail"]["TotalTax"]) == Decimal("8.25")


@pytest.mark.parametrize(("after", "taxable", "tax", "total"), [
    (True, "90", "7.43", "97.43"),  # 90 x 8.25 % = 7.425, half-up
    (False, "100", "8.25", "98.25"),
])
def test_us_discount_before_or_after_tax(after: bool, taxable: str, tax: str,
                                         total: str) -> None:
    api = Api()
    cust = api.customer("Discount Order")
    discount = {"DetailType": "DiscountLineDetail", "Amount": 0,
                "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10}}
    extra = {"ApplyTaxAfterDiscount": True} if after else {}
    inv = api.invoice(cust["Id"], line(100, tax="TAX"), discount, **extra)
    assert d(tax_line(inv)["TaxLineDetail"]["NetAmountTaxable"]) == Decimal(taxable)
    assert d(inv["TxnTaxDetail"]["TotalTax"]) == Decimal(tax)
    assert d(inv["TotalAmt"]) == Decimal(total)


# Non-US: TaxLine overrides ---------------------------------------------------------------

def uk_invoice(api: Api, *lines: dict, **extra: Any) -> dict:
    found = [c for c in api.store.all(UK_REALM, "Customer") if c["DisplayName"] == "UK Client"]
    cust = found[0] if found else api.customer("UK Client", realm=UK_REALM)
    return api.invoice(cust["Id"], *lines, realm=UK_REALM, **extra)


def sent_tax_line(rate_id: str, amount: Any, **detail: Any) -> dict:
    return {"Amount": amount, "DetailType": "TaxLineDetail",
            "TaxLineDetail": {"TaxRateRef": {"value": rate_id}, "PercentBased": True, **detail}}


def test_non_us_tax_line_overrides_the_rates_it_names() -> None:
    api = Api()
    sent = {"TotalTax": 999, "TaxLine": [
        sent_tax_line("1", "19.555", TaxPercent="abc", NetAmountTaxable=""),  # money-rounded
        sent_tax_line("3", 50),  # no line uses rate 3: ignored
        sent_tax_line("2", None),  # no amount: computed
    ]}
    inv = uk_invoice(api, line(100, tax="1"), line(40, tax="2"),
                     GlobalTaxCalculation="TaxExcluded", TxnTaxDetail=sent)
    assert tax_lines(inv) == {"1": (Decimal("19.56"), Decimal("20"), Decimal("100")),
                              "2": (Decimal("2.00"), Decimal("5"), Decimal("40"))}
    assert d(inv["TxnTaxDetail"]["TotalTax"]) == Decimal("21.56")
    assert d(inv["TotalAmt"]) == Decimal("161.56") == d(inv["Balance"])


def test_non_us_override_is_kept_while_sent_and_recomputed_without() -> None:
    api = Api()
    inv = uk_invoice(api, line(100, tax="1"), GlobalTaxCalculation="TaxExcluded",
                     TxnTaxDetail={"TaxLine": [sent_tax_line("1", 18)]})
    assert d(inv["TotalAmt"]) == Decimal("118")
    echoed = update(api, inv, realm=UK_REALM, GlobalTaxCalculation="TaxExcluded",
                    TxnTaxDetail=inv["TxnTaxDetail"])
    assert d(echoed["TxnTaxDetail"]["TotalTax"]) == 18
    # docs/qbo-rules.md §5.2: leave TxnTaxDetail out when the lines change, so QBO recomputes.
    fresh = update(api, echoed, realm=UK_REALM, GlobalTaxCalculation="TaxExcluded")
    assert d(fresh["TxnTaxDetail"]["TotalTax"]) == 20 and d(fresh["TotalAmt"]) == 120


def test_non_us_override_with_discount_keeps_the_computed_base() -> None:
    api = Api()
    discount = {"DetailType": "DiscountLineDetail", "Amount": 10,
                "DiscountLineDetail": {"PercentBased": False}}
    plain = uk_invoice(api, line(100, tax="1"), discount, GlobalTaxCalculation="TaxExcluded")
    assert tax_lines(plain)["1"] == (Decimal("18.00"), Decimal("20"), Decimal("90.00"))
    inv = uk_invoice(api, line(100, tax="1"), discount, GlobalTaxCalculation="TaxExcluded",
                     TxnTaxDetail={"TaxLine": [sent_tax_line("1", 17)]})
    assert tax_lines(inv)["1"] == (Decimal("17"), Decimal("20"), Decimal("90.00"))
    assert d(inv["TotalAmt"]) == Decimal("107")


@pytest.mark.parametrize("sent_gross", [None, "", 0, 500, "120"])
def test_tax_inclusive_amount_is_output_and_override_works_the_same(sent_gross: Any) -> None:
    api = Api()
    sale = line(100, tax="1")
    sale["SalesItemLineDetail"]["TaxInclusiveAmt"] = sent_gross
    plain = uk_invoice(api, sale, GlobalTaxCalculation="TaxInclusive")
    assert d(plain["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"]) == Decimal("120")
    assert d(plain["TotalAmt"]) == Decimal("120")
    inv = uk_invoice(api, sale, GlobalTaxCalculation="TaxInclusive",
                     TxnTaxDetail={"TaxLine": [sent_tax_line("1", 19)]})
    assert d(inv["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"]) == Decimal("120")
    assert tax_lines(inv)["1"] == (Decimal("19"), Decimal("20"), Decimal("100"))
    assert d(inv["TotalAmt"]) == Decimal("119")


def test_not_applicable_ignores_tax_lines() -> None:
    api = Api()
    inv = uk_invoice(api, line(100), GlobalTaxCalculation="NotApplicable",
                     TxnTaxDetail={"TaxLine": [sent_tax_line("1", 20)]})
    assert d(inv["TotalAmt"]) == 100 and d(inv["TxnTaxDetail"]["TotalTax"]) == 0
