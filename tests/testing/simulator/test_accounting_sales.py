"""Invoice / CreditMemo / RefundReceipt rules: required fields, references, amounts,
DocNumber, tax (US and non-US), currency, discounts, void and delete."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qbo_sync.testing.simulator.companies import UK_REALM, US_MC_REALM, US_REALM
from qbo_sync.testing.simulator.store import Store
from qbo_sync.testing.simulator.wire import Clock

from .support import START, Api, line


def d(value: float) -> Decimal:
    return Decimal(str(value))


def test_invoice_required_fields_and_references() -> None:
    api = Api()
    cust = api.customer("Refs Co")
    api.fault("2020", "POST", "invoice", body={"Line": [line(10)]})
    api.fault("2020", "POST", "invoice", body={"CustomerRef": {"value": cust["Id"]}})
    api.fault("2500", "POST", "invoice", body={"CustomerRef": {"value": "999"},
                                               "Line": [line(10)]})
    err = api.fault("2500", "POST", "invoice", body={"CustomerRef": {"value": cust["Id"]},
                                                     "Line": [line(10, item="999")]})
    assert err["Detail"] == "Invalid Reference Id : Line.SalesItemLineDetail.ItemRef"
    api.fault("2500", "POST", "invoice", body={"CustomerRef": {"value": cust["Id"]},
                                               "Line": [line(10, tax="GST")]})


def test_invoice_totals_balance_and_subtotal_line() -> None:
    api = Api()
    cust = api.customer("Totals")
    inv = api.invoice(cust["Id"], line(100, qty=2, price=50), line(25.5))
    assert d(inv["TotalAmt"]) == Decimal("125.50") == d(inv["Balance"])
    kinds = [ln["DetailType"] for ln in inv["Line"]]
    assert kinds == ["SalesItemLineDetail", "SalesItemLineDetail", "SubTotalLineDetail"]
    assert [ln["Id"] for ln in inv["Line"][:2]] == ["1", "2"]
    assert inv["DocNumber"] == "1001" and inv["TxnDate"] == "2026-07-10"


def test_amount_must_equal_qty_times_price_half_up_6070() -> None:
    api = Api()
    cust = api.customer("Rounding")
    # 3 x 0.335 = 1.005 -> 1.01 with half-up (banker's rounding would give 1.00).
    inv = api.invoice(cust["Id"], line(1.01, qty=3, price=0.335))
    assert d(inv["TotalAmt"]) == Decimal("1.01")
    err = api.fault("6070", "POST", "invoice", body={"CustomerRef": {"value": cust["Id"]},
                                                     "Line": [line(1.02, qty=3, price=0.335)]})
    assert err["Detail"] == "Amount is not equal to UnitPrice * Qty. Supplied value:1.02"


def test_doc_number_length_and_duplicates() -> None:
    api = Api()
    cust = api.customer("Docs")
    err = api.fault("2050", "POST", "invoice", body={"CustomerRef": {"value": cust["Id"]},
                                                     "Line": [line(5)], "DocNumber": "X" * 22})
    assert err["element"] == "DocNumber"
    first = api.invoice(cust["Id"], line(5), DocNumber="INV-1")
    err = api.fault("6140", "POST", "invoice", body={"CustomerRef": {"value": cust["Id"]},
                                                     "Line": [line(5)], "DocNumber": "INV-1"})
    assert f"TxnId={first['Id']}" in err["Detail"]
    dup = api.invoice(cust["Id"], line(5), DocNumber="INV-1", query="include=allowduplicatedocnum")
    assert dup["DocNumber"] == "INV-1"
    # Updating an invoice keeping its own number is not a duplicate.
    api.ok("POST", "invoice", body={"Id": first["Id"], "SyncToken": "0", "sparse": True,
                                    "PrivateNote": "same number"})


def test_us_ast_tax_on_tax_lines_only() -> None:
    api = Api()
    cust = api.customer("Taxed")
    inv = api.invoice(cust["Id"], line(100, tax="TAX"), line(50, tax="NON"), line(20))
    assert d(inv["TxnTaxDetail"]["TotalTax"]) == Decimal("8.25")
    assert d(inv["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"]) == 100
    assert d(inv["TotalAmt"]) == Decimal("178.25")
    assert "GlobalTaxCalculation" not in inv
    exempt = api.customer("Exempt", Taxable=False)
    inv2 = api.invoice(exempt["Id"], line(100, tax="TAX"))
    assert d(inv2["TotalAmt"]) == Decimal("100")
    override = api.invoice(cust["Id"], line(100, tax="TAX"), TxnTaxDetail={"TotalTax": 5})
    assert d(override["TotalAmt"]) == Decimal("105")


def test_non_us_lines_need_a_real_tax_code() -> None:
    api = Api()
    cust = api.customer("UK Buyer", realm=UK_REALM)
    err = api.fault("6000", "POST", "invoice", realm=UK_REALM, body={
        "CustomerRef": {"value": cust["Id"]}, "Line": [line(100)]})
    assert "TaxCodeRef" in err["Detail"]
    api.fault("2500", "POST", "invoice", realm=UK_REALM, body={
        "CustomerRef": {"value": cust["Id"]}, "Line": [line(100, tax="TAX")]})


def test_non_us_tax_excluded_and_inclusive() -> None:
    api = Api()
    cust = api.customer("VAT Buyer", realm=UK_REALM)
    excl = api.invoice(cust["Id"], line(100, tax="1"), line(40, tax="2"), realm=UK_REALM,
                       GlobalTaxCalculation="TaxExcluded")
    assert d(excl["TxnTaxDetail"]["TotalTax"]) == Decimal("22")  # 20 + 2
    assert d(excl["TotalAmt"]) == Decimal("162")
    assert excl["CurrencyRef"]["value"] == "GBP" and d(excl["ExchangeRate"]) == 1
    incl = api.invoice(cust["Id"], line(100, tax="1"), realm=UK_REALM,
                       GlobalTaxCalculation="TaxInclusive")
    detail = incl["Line"][0]["SalesItemLineDetail"]
    assert d(detail["TaxInclusiveAmt"]) == Decimal("120")
    assert d(incl["TotalAmt"]) == Decimal("120")
    none = api.invoice(cust["Id"], line(100), realm=UK_REALM,
                       GlobalTaxCalculation="NotApplicable")
    assert d(none["TotalAmt"]) == Decimal("100")
    api.fault("2170", "POST", "invoice", realm=UK_REALM, body={
        "CustomerRef": {"value": cust["Id"]}, "Line": [line(1, tax="1")],
        "GlobalTaxCalculation": "Sometimes"})


def test_multicurrency_rules() -> None:
    api = Api()
    eur = api.customer("EU Client", realm=UK_REALM, CurrencyRef={"value": "EUR"})
    inv = api.invoice(eur["Id"], line(100, tax="3"), realm=UK_REALM,
                      CurrencyRef={"value": "EUR"})
    assert inv["CurrencyRef"]["value"] == "EUR" and d(inv["ExchangeRate"]) > 0
    assert "HomeTotalAmt" in inv
    # Defaults to home currency, which doesn't match the EUR customer.
    err = api.fault("6000", "POST", "invoice", realm=UK_REALM, body={
        "CustomerRef": {"value": eur["Id"]}, "Line": [line(100, tax="3")]})
    assert "EUR" in err["Detail"]
    api.fault("2500", "POST", "invoice", realm=UK_REALM, body={
        "CustomerRef": {"value": eur["Id"]}, "Line": [line(1, tax="3")],
        "CurrencyRef": {"value": "CAD"}})
    us = api.customer("Home Only")
    api.fault("6000", "POST", "invoice", body={"CustomerRef": {"value": us["Id"]},
                                               "Line": [line(1)], "CurrencyRef": {"value": "EUR"}})
    mc = api.customer("USD client", realm=US_MC_REALM)
    assert api.invoice(mc["Id"], line(1), realm=US_MC_REALM)["CurrencyRef"]["value"] == "USD"


def test_discount_lines() -> None:
    api = Api()
    cust = api.customer("Discounted")
    pct = {"DetailType": "DiscountLineDetail", "Amount": 0,
           "DiscountLineDetail": {"PercentBased": True, "DiscountPercent": 10}}
    inv = api.invoice(cust["Id"], line(200), pct)
    assert d(inv["TotalAmt"]) == Decimal("180")
    disc = [ln for ln in inv["Line"] if ln["DetailType"] == "DiscountLineDetail"][0]
    assert d(disc["Amount"]) == Decimal("20")
    assert disc["DiscountLineDetail"]["DiscountAccountRef"]["value"] == "6"
    flat = {"DetailType": "DiscountLineDetail", "Amount": 15,
            "DiscountLineDetail": {"PercentBased": False}}
    assert d(api.invoice(cust["Id"], line(100), flat)["TotalAmt"]) == Decimal("85")
    store = Store(Clock(START), companies=[{"realm_id": "42", "country": "US",
                                            "allow_discount": False}])
    off = Api(store)
    c2 = off.customer("No Discounts", realm="42")
    off.fault("6000", "POST", "invoice", realm="42", body={
        "CustomerRef": {"value": c2["Id"]}, "Line": [line(100), flat]})


def test_invoice_void() -> None:
    api = Api()
    cust = api.customer("Void Me")
    inv = api.invoice(cust["Id"], line(100, tax="TAX"), PrivateNote="note")
    api.fault("5010", "POST", "invoice", "operation=void", {"Id": inv["Id"], "SyncToken": "9"})
    voided = api.ok("POST", "invoice", "operation=void",
                    {"Id": inv["Id"], "SyncToken": "0"})["Invoice"]
    assert d(voided["TotalAmt"]) == 0 and d(voided["Balance"]) == 0
    assert voided["PrivateNote"].startswith("Voided")
    assert all(d(ln["Amount"]) == 0 for ln in voided["Line"])
    assert api.events[-1].operation == "Void"
    assert api.store.get(US_REALM, "Invoice", inv["Id"]) is not None


def test_invoice_delete_and_linked_payment_blocks_it() -> None:
    api = Api()
    cust = api.customer("Delete Me")
    inv = api.invoice(cust["Id"], line(100))
    gone = api.ok("POST", "invoice", "operation=delete", {"Id": inv["Id"], "SyncToken": "0"})
    assert gone["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": inv["Id"]}
    api.fault("610", "GET", f"invoice/{inv['Id']}")
    paid = api.invoice(cust["Id"], line(100))
    api.pay(cust["Id"], 40, (paid["Id"], 40))
    err = api.fault("6000", "POST", "invoice", "operation=delete",
                    {"Id": paid["Id"], "SyncToken": "1"})
    assert "Payment" in err["Detail"]


def test_full_update_replaces_lines_and_resets_fields() -> None:
    api = Api()
    cust = api.customer("Updater")
    inv = api.invoice(cust["Id"], line(10), line(20), PrivateNote="old")
    body = {"Id": inv["Id"], "SyncToken": "0", "CustomerRef": {"value": cust["Id"]},
            "Line": [inv["Line"][1] | {"Amount": 30}, line(5)]}
    upd = api.ok("POST", "invoice", body=body)["Invoice"]
    assert "PrivateNote" not in upd
    assert [ln["Id"] for ln in upd["Line"][:2]] == ["2", "3"]
    assert d(upd["TotalAmt"]) == Decimal("35") and upd["SyncToken"] == "1"
    sparse = api.ok("POST", "invoice", body={"Id": inv["Id"], "SyncToken": "1",
                                             "sparse": True, "PrivateNote": "n"})["Invoice"]
    assert d(sparse["TotalAmt"]) == Decimal("35") and sparse["PrivateNote"] == "n"


def test_credit_memo_and_refund_receipt() -> None:
    api = Api()
    cust = api.customer("Credits")
    cm = api.ok("POST", "creditmemo", body={"CustomerRef": {"value": cust["Id"]},
                                            "Line": [line(30)]})["CreditMemo"]
    assert d(cm["RemainingCredit"]) == Decimal("30") and d(cm["TotalAmt"]) == 30
    api.fault("2020", "POST", "refundreceipt", body={"CustomerRef": {"value": cust["Id"]},
                                                     "Line": [line(10)]})
    api.fault("2500", "POST", "refundreceipt", body={"DepositToAccountRef": {"value": "99"},
                                                     "Line": [line(10)]})
    rr = api.ok("POST", "refundreceipt", body={"CustomerRef": {"value": cust["Id"]},
                                               "DepositToAccountRef": {"value": "2"},
                                               "Line": [line(10)]})["RefundReceipt"]
    assert d(rr["TotalAmt"]) == 10 and rr["DepositToAccountRef"]["name"] == "Checking"
    api.fault("2020", "POST", "refundreceipt", body={"DepositToAccountRef": {"value": "2"}})


# Read-only fields are ignored on input (docs/qbo-rules.md §5.2 "Read-only", §5.4, §5.5) --

ECHOED = [None, "", 0, "0", "999.99", "not a number"]


def _read_only_junk(value: object) -> dict:
    return {"TotalAmt": value, "Balance": value, "HomeTotalAmt": value, "HomeBalance": value,
            "RemainingCredit": value, "LinkedTxn": value if value != 0 else [],
            "MetaData": value, "InvoiceLink": value, "domain": value}


@pytest.mark.parametrize("value", ECHOED)
@pytest.mark.parametrize("entity", ["Invoice", "CreditMemo", "RefundReceipt"])
def test_read_only_fields_are_ignored_on_create(entity: str, value: object) -> None:
    api = Api()
    cust = api.customer("Echo")
    body = {"CustomerRef": {"value": cust["Id"]}, "Line": [line(40, qty=2, price=20)],
            **_read_only_junk(value)}
    if entity == "RefundReceipt":
        body["DepositToAccountRef"] = {"value": "2"}
    obj = api.ok("POST", entity.lower(), body=body)[entity]
    assert d(obj["TotalAmt"]) == Decimal("40")
    if entity != "RefundReceipt":
        assert d(obj["Balance"]) == Decimal("40")
    if entity == "CreditMemo":
        assert d(obj["RemainingCredit"]) == Decimal("40")
    assert "LinkedTxn" not in obj and "HomeTotalAmt" not in obj and "InvoiceLink" not in obj
    assert obj["MetaData"]["CreateTime"].startswith("2026-07-10")
    assert obj["domain"] == "QBO"


@pytest.mark.parametrize("value", ECHOED)
def test_read_only_fields_are_ignored_on_full_and_sparse_update(value: object) -> None:
    api = Api()
    cust = api.customer("Echo Update")
    inv = api.invoice(cust["Id"], line(100, tax="TAX"))
    pay = api.pay(cust["Id"], 30, (inv["Id"], 30))
    current = api.get("Invoice", inv["Id"])
    # A client that edits what it read and sends it all back, read-only fields included.
    echo = {**current, **_read_only_junk(value),
            "Line": [*current["Line"][:1], line(50, tax="NON")]}
    echo["Line"][0]["SalesItemLineDetail"]["TaxInclusiveAmt"] = value
    echo.pop("TxnTaxDetail")  # the tax is recomputed only when it is not sent (§5.2)
    full = api.ok("POST", "invoice", body=echo)["Invoice"]
    assert d(full["TotalAmt"]) == Decimal("158.25") and d(full["Balance"]) == Decimal("128.25")
    assert full["LinkedTxn"] == [{"TxnId": pay["Id"], "TxnType": "Payment"}]
    assert full["MetaData"]["CreateTime"] == current["MetaData"]["CreateTime"]
    assert "TaxInclusiveAmt" not in full["Line"][0]["SalesItemLineDetail"]
    sparse = api.ok("POST", "invoice", body={"Id": inv["Id"], "SyncToken": full["SyncToken"],
                                             "sparse": True, **_read_only_junk(value)})
    assert d(sparse["Invoice"]["Balance"]) == Decimal("128.25")


def test_echoed_subtotal_line_and_description_amount_are_ignored() -> None:
    api = Api()
    cust = api.customer("Subtotals")
    inv = api.invoice(cust["Id"], line(10),
                      {"DetailType": "DescriptionOnly", "Description": "Note", "Amount": ""},
                      {"DetailType": "SubTotalLineDetail", "Amount": "",
                       "SubTotalLineDetail": {}})
    assert d(inv["TotalAmt"]) == Decimal("10")
    assert [ln["DetailType"] for ln in inv["Line"]] == [
        "SalesItemLineDetail", "DescriptionOnly", "SubTotalLineDetail"]


def test_writable_numbers_are_still_checked() -> None:
    api = Api()
    cust = api.customer("Still Checked")
    err = api.fault("6000", "POST", "invoice", body={"CustomerRef": {"value": cust["Id"]},
                                                     "Line": [line("ten")]})
    assert err["element"] == "Amount"
