"""Store: seeding, change events, accountant actions, thread safety, to_dict/from_dict."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

from qbo_sync.testing.simulator.companies import UK_REALM, US_MC_REALM, US_REALM
from qbo_sync.testing.simulator.store import Store

from .support import Api, line


def test_default_companies_are_seeded() -> None:
    api = Api()
    realms = {r["realm_id"]: r for r in api.store.realms()}
    assert set(realms) == {US_REALM, UK_REALM, US_MC_REALM}
    assert realms[UK_REALM]["home_currency"] == "GBP" and realms[UK_REALM]["multicurrency"]
    assert not realms[US_REALM]["multicurrency"]
    subtypes = {a["AccountSubType"] for a in api.store.all(US_REALM, "Account")}
    assert {"UndepositedFunds", "Checking", "AccountsReceivable"} <= subtypes
    items = {i["Name"] for i in api.store.all(US_REALM, "Item")}
    assert {"Services", "Design", "Development", "Consulting", "Hours"} <= items
    assert {c["Id"] for c in api.store.all(US_REALM, "TaxCode")} >= {"TAX", "NON"}
    assert api.store.get(UK_REALM, "Preferences", "1")["TaxPrefs"]["PartnerTaxEnabled"] is False
    assert api.store.all(US_REALM, "Vendor") and api.store.all(US_REALM, "Employee")
    assert not api.store.has_realm("123")


def test_get_returns_copies_with_decimal_money() -> None:
    api = Api()
    cust = api.customer("Copy")
    inv = api.invoice(cust["Id"], line(12.5))
    record = api.store.get(US_REALM, "Invoice", inv["Id"])
    assert record["TotalAmt"] == Decimal("12.5")
    record["TotalAmt"] = Decimal("0")
    assert api.store.get(US_REALM, "Invoice", inv["Id"])["TotalAmt"] == Decimal("12.5")


def test_accountant_record_payment_fires_events_and_pays() -> None:
    api = Api()
    cust = api.customer("Accountant Client")
    inv = api.invoice(cust["Id"], line(100))
    api.events.clear()
    pay = api.accountant.record_payment(US_REALM, inv["Id"], Decimal("40"),
                                              txn_date="2026-07-09", method="check",
                                              reference="chq 12")
    assert pay["PaymentRefNum"] == "chq 12" and pay["PaymentMethodRef"]["value"] == "2"
    assert pay["TxnDate"] == "2026-07-09"
    assert [(e.entity, e.id, e.operation) for e in api.events] == [
        ("Payment", pay["Id"], "Create"), ("Invoice", inv["Id"], "Update")]
    assert api.store.get(US_REALM, "Invoice", inv["Id"])["Balance"] == Decimal("60")
    with pytest.raises(ValueError):
        api.accountant.record_payment(US_REALM, inv["Id"], Decimal("61"))
    with pytest.raises(ValueError):
        api.accountant.record_payment(US_REALM, inv["Id"], Decimal("1"), method="Gold")


def test_accountant_edit_void_delete() -> None:
    api = Api()
    cust = api.customer("Edited")
    inv = api.invoice(cust["Id"], line(100))
    edited = api.accountant.edit_invoice(US_REALM, inv["Id"], {"PrivateNote": "by hand"})
    assert edited["PrivateNote"] == "by hand" and edited["SyncToken"] == "1"
    api.fault("5010", "POST", "invoice", body={"Id": inv["Id"], "SyncToken": "0",
                                               "sparse": True, "PrivateNote": "late"})
    pay = api.accountant.record_payment(US_REALM, inv["Id"], Decimal("30"))
    voided = api.accountant.void_invoice(US_REALM, inv["Id"])
    assert voided["TotalAmt"] == 0 and api.events[-1].operation == "Void"
    freed = api.store.get(US_REALM, "Payment", pay["Id"])
    assert freed["UnappliedAmt"] == Decimal("30")  # the payment became a credit
    other = api.invoice(cust["Id"], line(50))
    api.accountant.record_payment(US_REALM, other["Id"], Decimal("50"))
    tomb = api.accountant.delete_invoice(US_REALM, other["Id"])
    assert tomb["status"] == "Deleted" and api.events[-1].operation == "Delete"
    assert api.store.get(US_REALM, "Invoice", other["Id"]) is None


def test_bump_sync_token_and_add_name() -> None:
    api = Api()
    cust = api.customer("Bumped")
    bumped = api.store.bump_sync_token(US_REALM, "Customer", cust["Id"])
    assert bumped["SyncToken"] == "1" and api.events[-1].operation == "Update"
    vendor = api.accountant.add_name(US_REALM, "Vendor", "Bolt Supplier")
    assert vendor["Id"] == "2"
    with pytest.raises(ValueError):
        api.accountant.add_name(US_REALM, "Employee", "bumped")
    with pytest.raises(ValueError):
        api.accountant.add_name(US_REALM, "Customer", "Nope")


def test_round_trip_keeps_all_state() -> None:
    api = Api()
    cust = api.customer("Persisted")
    inv = api.invoice(cust["Id"], line(99.99, tax="TAX"))
    api.call("POST", "customer", "requestid=keep-me", {"DisplayName": "Replayed"})
    gone = api.invoice(cust["Id"], line(1))
    api.ok("POST", "invoice", "operation=delete", {"Id": gone["Id"], "SyncToken": "0"})

    data = json.loads(json.dumps(api.store.to_dict()))
    again = Api(Store.from_dict(data, api.clock))
    assert again.store.get(US_REALM, "Invoice", inv["Id"]) == \
        api.store.get(US_REALM, "Invoice", inv["Id"])
    assert again.store.get(US_REALM, "Invoice", inv["Id"])["TotalAmt"] == Decimal("108.24")
    replay = again.call("POST", "customer", "requestid=keep-me", {"DisplayName": "Replayed"})
    assert replay.status == 200 and len(again.store.all(US_REALM, "Customer")) == 2
    # Id counters survive: a deleted invoice's Id is not reused.
    assert int(again.invoice(cust["Id"], line(2))["Id"]) == int(gone["Id"]) + 1
    assert again.store.to_dict()["realms"][US_REALM]["deleted"]["Invoice"]


def test_concurrent_writes_get_unique_ids() -> None:
    api = Api()
    errors: list[int] = []

    def worker(n: int) -> None:
        for i in range(20):
            resp = api.call("POST", "customer", body={"DisplayName": f"T{n}-{i}"})
            if resp.status != 200:
                errors.append(resp.status)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [c["Id"] for c in api.store.all(US_REALM, "Customer")]
    assert not errors and len(ids) == 160 == len(set(ids))
    assert len(api.events) == 160


def test_custom_company_list() -> None:
    store = Store(Api().clock, companies=[{"realm_id": "555", "name": "AU Co", "country": "AU",
                                           "home_currency": "AUD"}])
    assert [r["realm_id"] for r in store.realms()] == ["555"]
    assert store.get("555", "CompanyInfo", "1")["Country"] == "AU"


def test_multicurrency_companies_list_their_foreign_currencies():
    from qbo_sync.testing.simulator.accounting import Accounting
    from qbo_sync.testing.simulator.companies import UK_REALM, US_REALM
    from qbo_sync.testing.simulator.store import Store
    from qbo_sync.testing.simulator.wire import Clock, SimRequest

    acct = Accounting(Store(Clock()))

    def codes(realm):
        req = SimRequest.build("GET", f"/v3/company/{realm}/query",
                               query={"query": "SELECT * FROM CompanyCurrency WHERE Active = true"})
        body = acct.handle(realm, "query", req).parsed()["QueryResponse"]
        return sorted(row["Code"] for row in body.get("CompanyCurrency", []))

    assert codes(UK_REALM) == ["EUR", "USD"]
    assert codes(US_REALM) == []  # no multicurrency: nothing but the home currency
