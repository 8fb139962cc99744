"""Customer / Vendor / Employee / Item rules, SyncToken, requestid, routing."""

from __future__ import annotations

from decimal import Decimal

from qbo_sync.testing.simulator.companies import UK_REALM, US_MC_REALM, US_REALM

from .support import Api, line


def test_customer_create_read_shape() -> None:
    api = Api()
    cust = api.customer("Acme Ltd", PrimaryEmailAddr={"Address": "a@acme.test"})
    assert cust["Id"] == "1" and cust["SyncToken"] == "0"
    assert cust["MetaData"]["CreateTime"] == cust["MetaData"]["LastUpdatedTime"]
    assert cust["CurrencyRef"]["value"] == "USD"
    assert "Notes" not in cust  # no value -> omitted
    assert api.get("Customer", "1")["DisplayName"] == "Acme Ltd"
    assert [(e.entity, e.operation) for e in api.events] == [("Customer", "Create")]


def test_display_name_unique_across_vendor_and_employee() -> None:
    api = Api()
    err = api.fault("6240", "POST", "customer", body={"DisplayName": "emily employee"})
    assert "Id=1" in err["Detail"]
    vendor = api.accountant.add_name(US_REALM, "Vendor", "Parts Inc")
    err = api.fault("6240", "POST", "customer", body={"DisplayName": "Parts  Inc"})
    assert f"Id={vendor['Id']}" in err["Detail"]
    first = api.customer("Solo")
    err = api.fault("6240", "POST", "customer", body={"DisplayName": "SOLO"})
    assert f"Id={first['Id']}" in err["Detail"]


def test_display_name_forbidden_characters_and_length() -> None:
    api = Api()
    for bad in ("Parent:Child", "Tab\there", "New\nline"):
        err = api.fault("6000", "POST", "customer", body={"DisplayName": bad})
        assert err["element"] == "DisplayName"
    api.fault("6000", "POST", "customer", body={"GivenName": "A:B"})
    err = api.fault("2050", "POST", "customer", body={"DisplayName": "x" * 501})
    assert "Max:500" in err["Detail"]
    assert api.customer("x" * 500)["DisplayName"] == "x" * 500


def test_display_name_or_name_part_required() -> None:
    api = Api()
    api.fault("2020", "POST", "customer", body={"CompanyName": "Only Company"})
    cust = api.ok("POST", "customer", body={"GivenName": "Ada", "FamilyName": "Lovelace"})
    assert cust["Customer"]["DisplayName"] == "Ada Lovelace"


def test_stale_sync_token_5010_and_missing_object_610() -> None:
    api = Api()
    cust = api.customer("Stale Co")
    upd = api.ok("POST", "customer", body={"Id": cust["Id"], "SyncToken": "0", "sparse": True,
                                           "Notes": "first"})["Customer"]
    assert upd["SyncToken"] == "1"
    api.fault("5010", "POST", "customer", body={"Id": cust["Id"], "SyncToken": "0",
                                                "sparse": True, "Notes": "second"})
    api.fault("610", "POST", "customer", body={"Id": "999", "SyncToken": "0", "sparse": True})
    api.fault("610", "GET", "invoice/999")


def test_full_update_resets_omitted_fields_sparse_keeps_them() -> None:
    api = Api()
    cust = api.customer("Reset Co", Notes="keep?", CompanyName="Reset Co Ltd")
    sparse = api.ok("POST", "customer", body={"Id": cust["Id"], "SyncToken": "0",
                                              "sparse": True, "Notes": "new"})["Customer"]
    assert sparse["CompanyName"] == "Reset Co Ltd" and sparse["Notes"] == "new"
    full = api.ok("POST", "customer", body={"Id": cust["Id"], "SyncToken": "1",
                                            "DisplayName": "Reset Co"})["Customer"]
    assert "CompanyName" not in full and "Notes" not in full


def test_customer_currency_rules() -> None:
    api = Api()
    api.fault("6000", "POST", "customer", body={"DisplayName": "Euro", "CurrencyRef":
                                                {"value": "EUR"}}, realm=US_REALM)
    eur = api.customer("Euro Buyer", realm=US_MC_REALM, CurrencyRef={"value": "EUR"})
    assert eur["CurrencyRef"]["value"] == "EUR"
    api.fault("6000", "POST", "customer", realm=US_MC_REALM, body={
        "Id": eur["Id"], "SyncToken": "0", "sparse": True, "CurrencyRef": {"value": "USD"}})
    api.fault("2500", "POST", "customer", realm=US_MC_REALM,
              body={"DisplayName": "Fake", "CurrencyRef": {"value": "XXX"}})
    # A real currency the company lacks is added, as QBO does for customers (§5.1).
    aud = api.customer("Aussie", realm=US_MC_REALM, CurrencyRef={"value": "AUD"})
    assert aud["CurrencyRef"]["value"] == "AUD"


def test_inactive_customer_and_item_give_610() -> None:
    api = Api()
    cust = api.customer("Sleepy")
    api.ok("POST", "customer", body={"Id": cust["Id"], "SyncToken": "0", "sparse": True,
                                     "Active": False})
    api.fault("610", "POST", "invoice", body={"CustomerRef": {"value": cust["Id"]},
                                              "Line": [line(10)]})
    live = api.customer("Awake")
    item = api.get("Item", "3")
    api.ok("POST", "item", body={"Id": "3", "SyncToken": item["SyncToken"], "sparse": True,
                                 "Active": False})
    err = api.fault("610", "POST", "invoice", body={"CustomerRef": {"value": live["Id"]},
                                                    "Line": [line(10, item="3")]})
    assert "ItemRef" in err["element"]


def test_customer_with_open_balance_cannot_be_made_inactive() -> None:
    api = Api()
    cust = api.customer("Owes")
    api.invoice(cust["Id"], line(10))
    assert Decimal(str(api.get("Customer", cust["Id"])["Balance"])) == Decimal("10")
    api.fault("6000", "POST", "customer", body={"Id": cust["Id"], "SyncToken": "0",
                                                "sparse": True, "Active": False})


def test_item_create_rules() -> None:
    api = Api()
    item = api.ok("POST", "item", body={"Name": "Support", "IncomeAccountRef": {"value": "4"},
                                        "UnitPrice": 40})["Item"]
    assert item["Type"] == "Service" and item["IncomeAccountRef"]["name"] == "Services"
    api.fault("6240", "POST", "item", body={"Name": "support", "IncomeAccountRef":
                                            {"value": "4"}})
    api.fault("2020", "POST", "item", body={"Name": "No Account"})
    api.fault("2500", "POST", "item", body={"Name": "Bad", "IncomeAccountRef": {"value": "99"}})
    api.fault("6000", "POST", "item", body={"Name": "A:B", "IncomeAccountRef": {"value": "4"}})
    api.fault("6000", "POST", "account", body={"Name": "New account"})


def test_requestid_replays_first_response_without_running_again() -> None:
    api = Api()
    body = {"DisplayName": "Once Only"}
    first = api.call("POST", "customer", "requestid=abc-1&minorversion=75", body)
    again = api.call("POST", "customer", "requestid=abc-1&minorversion=75", body)
    assert first.status == again.status == 200
    assert first.body == again.body
    assert len([c for c in api.store.all(US_REALM, "Customer")]) == 1
    assert len(api.events) == 1
    # Another realm does not share the cache.
    other = api.call("POST", "customer", "requestid=abc-1", body, realm=UK_REALM)
    assert other.status == 200 and api.store.all(UK_REALM, "Customer")


def test_requestid_not_remembered_for_a_rejected_write() -> None:
    api = Api()
    api.fault("2020", "POST", "customer", "requestid=r2", {"CompanyName": "x"})
    ok = api.ok("POST", "customer", "requestid=r2", {"DisplayName": "Fixed"})
    assert ok["Customer"]["DisplayName"] == "Fixed"


def test_minorversion_and_routing() -> None:
    api = Api()
    assert api.ok("GET", "preferences", "minorversion=4")["Preferences"]["CurrencyPrefs"]
    info = api.ok("GET", f"companyinfo/{US_REALM}")["CompanyInfo"]
    assert info["Country"] == "US" and info["CompanyAddr"]["Country"] == "USA"
    api.fault("2010", "GET", "preferences", "minorversion=abc")
    api.fault("500", "GET", "nonsense", status=500)
    api.fault("500", "POST", "Invoice", body={}, status=500)  # paths are case-sensitive
    api.fault("2010", "POST", "customer", body="{not json")
    api.fault("6000", "POST", "customer", "operation=delete", {"Id": "1", "SyncToken": "0"})
