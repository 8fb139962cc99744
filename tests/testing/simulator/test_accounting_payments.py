"""Payments: application, partial and multiple payments, unapplied excess, over-applying,
credit memos, void and delete (docs/qbo-rules.md §5.3)."""

from __future__ import annotations

from decimal import Decimal

from .support import Api, line


def d(value: float) -> Decimal:
    return Decimal(str(value))


def test_partial_then_full_payment_and_linked_txn() -> None:
    api = Api()
    cust = api.customer("Payer")
    inv = api.invoice(cust["Id"], line(100))
    p1 = api.pay(cust["Id"], 30, (inv["Id"], 30))
    assert p1["DepositToAccountRef"]["name"] == "Undeposited Funds"
    assert d(p1["UnappliedAmt"]) == 0
    after1 = api.get("Invoice", inv["Id"])
    assert d(after1["Balance"]) == Decimal("70") and after1["SyncToken"] == "1"
    p2 = api.pay(cust["Id"], 70, (inv["Id"], 70))
    paid = api.get("Invoice", inv["Id"])
    assert d(paid["Balance"]) == 0
    assert paid["LinkedTxn"] == [{"TxnId": p1["Id"], "TxnType": "Payment"},
                                 {"TxnId": p2["Id"], "TxnType": "Payment"}]
    events = [(e.entity, e.operation) for e in api.events[-2:]]
    assert events == [("Payment", "Create"), ("Invoice", "Update")]


def test_excess_becomes_unapplied_and_one_payment_pays_two_invoices() -> None:
    api = Api()
    cust = api.customer("Generous")
    a = api.invoice(cust["Id"], line(40))
    b = api.invoice(cust["Id"], line(60))
    pay = api.pay(cust["Id"], 120, (a["Id"], 40), (b["Id"], 60))
    assert d(pay["UnappliedAmt"]) == Decimal("20")
    assert d(api.get("Invoice", a["Id"])["Balance"]) == 0
    assert d(api.get("Invoice", b["Id"])["Balance"]) == 0
    assert d(api.get("Customer", cust["Id"])["Balance"]) == Decimal("-20")
    unapplied = api.pay(cust["Id"], 25)
    assert d(unapplied["UnappliedAmt"]) == Decimal("25")


def test_applying_more_than_open_balance_is_rejected() -> None:
    api = Api()
    cust = api.customer("Over")
    inv = api.invoice(cust["Id"], line(50))
    body = {"CustomerRef": {"value": cust["Id"]}, "TotalAmt": 60,
            "Line": [{"Amount": 60, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]}
    err = api.fault("6000", "POST", "payment", body=body)
    assert "open balance" in err["Detail"]
    short = {**body, "TotalAmt": 10, "Line": [{**body["Line"][0], "Amount": 20}]}
    api.fault("6000", "POST", "payment", body=short)  # lines exceed TotalAmt
    assert d(api.get("Invoice", inv["Id"])["Balance"]) == Decimal("50")


def test_payment_required_fields_and_references() -> None:
    api = Api()
    cust = api.customer("Refs")
    api.fault("2020", "POST", "payment", body={"TotalAmt": 5})
    api.fault("2020", "POST", "payment", body={"CustomerRef": {"value": cust["Id"]}})
    err = api.fault("2500", "POST", "payment", body={
        "CustomerRef": {"value": cust["Id"]}, "TotalAmt": 5,
        "Line": [{"Amount": 5, "LinkedTxn": [{"TxnId": "404", "TxnType": "Invoice"}]}]})
    assert err["Detail"] == "Invalid Reference Id : Line.LinkedTxn.TxnId"
    api.fault("2500", "POST", "payment", body={"CustomerRef": {"value": cust["Id"]},
                                               "TotalAmt": 5,
                                               "DepositToAccountRef": {"value": "77"}})
    other = api.customer("Other")
    inv = api.invoice(other["Id"], line(5))
    api.fault("6000", "POST", "payment", body={
        "CustomerRef": {"value": cust["Id"]}, "TotalAmt": 5,
        "Line": [{"Amount": 5, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}]})


def test_void_payment_restores_invoice_balance() -> None:
    api = Api()
    cust = api.customer("Voider")
    inv = api.invoice(cust["Id"], line(80))
    pay = api.pay(cust["Id"], 80, (inv["Id"], 80))
    assert d(api.get("Invoice", inv["Id"])["Balance"]) == 0
    voided = api.ok("POST", "payment", "operation=update&include=void",
                    {"Id": pay["Id"], "SyncToken": "0", "sparse": True})["Payment"]
    assert d(voided["TotalAmt"]) == 0 and d(voided["UnappliedAmt"]) == 0
    assert "Voided" in voided["PrivateNote"]
    assert all(d(ln["Amount"]) == 0 for ln in voided["Line"])
    restored = api.get("Invoice", inv["Id"])
    assert d(restored["Balance"]) == Decimal("80") and "LinkedTxn" not in restored
    assert ("Payment", "Void") in [(e.entity, e.operation) for e in api.events]


def test_delete_payment_and_update_reapplies() -> None:
    api = Api()
    cust = api.customer("Mover")
    a = api.invoice(cust["Id"], line(50))
    b = api.invoice(cust["Id"], line(50))
    pay = api.pay(cust["Id"], 50, (a["Id"], 50))
    moved = api.ok("POST", "payment", body={
        "Id": pay["Id"], "SyncToken": "0", "CustomerRef": {"value": cust["Id"]},
        "TotalAmt": 50,
        "Line": [{"Amount": 50, "LinkedTxn": [{"TxnId": b["Id"], "TxnType": "Invoice"}]}]})
    assert moved["Payment"]["SyncToken"] == "1"
    assert d(api.get("Invoice", a["Id"])["Balance"]) == Decimal("50")
    assert d(api.get("Invoice", b["Id"])["Balance"]) == 0
    gone = api.ok("POST", "payment", "operation=delete", {"Id": pay["Id"], "SyncToken": "1"})
    assert gone["Payment"]["status"] == "Deleted"
    assert d(api.get("Invoice", b["Id"])["Balance"]) == Decimal("50")


def test_credit_memo_applied_through_zero_payment() -> None:
    api = Api()
    cust = api.customer("Creditor")
    inv = api.invoice(cust["Id"], line(100))
    cm = api.ok("POST", "creditmemo", body={"CustomerRef": {"value": cust["Id"]},
                                            "Line": [line(30)]})["CreditMemo"]
    body = {"CustomerRef": {"value": cust["Id"]}, "TotalAmt": 0, "Line": [
        {"Amount": 30, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]},
        {"Amount": 30, "LinkedTxn": [{"TxnId": cm["Id"], "TxnType": "CreditMemo"}]}]}
    pay = api.ok("POST", "payment", body=body)["Payment"]
    assert d(pay["UnappliedAmt"]) == 0
    assert d(api.get("Invoice", inv["Id"])["Balance"]) == Decimal("70")
    assert d(api.get("CreditMemo", cm["Id"])["RemainingCredit"]) == 0
    again = {**body, "Line": [{**body["Line"][0], "Amount": 1},
                              {**body["Line"][1], "Amount": 1}]}
    api.fault("6000", "POST", "payment", body=again)  # credit already used up


def test_read_only_fields_are_ignored_but_total_amt_is_the_amount() -> None:
    # docs/qbo-rules.md §5.3: UnappliedAmt and MetaData are read-only; TotalAmt is required.
    api = Api()
    cust = api.customer("Echo Payer")
    inv = api.invoice(cust["Id"], line(100))
    pay = api.pay(cust["Id"], 60, (inv["Id"], 50), UnappliedAmt="", MetaData="")
    assert d(pay["UnappliedAmt"]) == Decimal("10")
    echo = {**pay, "UnappliedAmt": "abc", "TotalAmt": "70"}
    again = api.ok("POST", "payment", body=echo)["Payment"]
    assert d(again["TotalAmt"]) == Decimal("70") and d(again["UnappliedAmt"]) == Decimal("20")
    body = {"CustomerRef": {"value": cust["Id"]}, "TotalAmt": ""}
    assert api.fault("6000", "POST", "payment", body=body)["element"] == "TotalAmt"
    api.fault("2020", "POST", "payment", body={**body, "TotalAmt": None})
