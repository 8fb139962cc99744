"""POST /batch (per-item results and faults) and GET /cdc (window, order, tombstones, cap)."""

from __future__ import annotations

from qbo_sync.testing.simulator.accounting.cdc import MAX_OBJECTS

from .support import Api, line


def test_batch_items_answer_one_by_one() -> None:
    api = Api()
    cust = api.customer("Batch Co")
    inv = api.invoice(cust["Id"], line(10))
    body = {"BatchItemRequest": [
        {"bId": "1", "operation": "create", "Customer": {"DisplayName": "New In Batch"}},
        {"bId": "2", "operation": "create", "Customer": {"DisplayName": "batch co"}},
        {"bId": "3", "operation": "update", "Invoice": {"Id": inv["Id"], "SyncToken": "7",
                                                        "sparse": True}},
        {"bId": "4", "Query": "SELECT * FROM Customer WHERE DisplayName = 'Batch Co'"},
        {"bId": "5", "operation": "create", "Invoice": {"CustomerRef": {"value": "999"},
                                                        "Line": [line(1)]}},
        {"bId": "6", "operation": "delete", "Invoice": {"Id": inv["Id"], "SyncToken": "0"}},
    ]}
    items = {i["bId"]: i for i in api.ok("POST", "batch", body=body)["BatchItemResponse"]}
    assert items["1"]["Customer"]["DisplayName"] == "New In Batch"
    assert items["2"]["Fault"]["Error"][0]["code"] == "6240"
    assert items["3"]["Fault"]["Error"][0]["code"] == "5010"
    assert items["4"]["QueryResponse"]["Customer"][0]["Id"] == cust["Id"]
    assert items["5"]["Fault"]["Error"][0]["code"] == "2500"
    assert items["6"]["Invoice"]["status"] == "Deleted"


def test_batch_limit_is_30_items() -> None:
    api = Api()
    items = [{"bId": str(i), "Query": "SELECT * FROM Item"} for i in range(31)]
    api.fault("6000", "POST", "batch", body={"BatchItemRequest": items})
    ok = api.ok("POST", "batch", body={"BatchItemRequest": items[:30]})
    assert len(ok["BatchItemResponse"]) == 30
    api.fault("2020", "POST", "batch", body={})


def test_cdc_window_and_required_params() -> None:
    api = Api()
    api.fault("2020", "GET", "cdc", {"changedSince": "2026-07-01"})
    api.fault("2020", "GET", "cdc", {"entities": "Invoice"})
    api.fault("6000", "GET", "cdc", {"entities": "Invoice", "changedSince": "2026-06-01"})
    api.fault("6000", "GET", "cdc", {"entities": "TaxCode", "changedSince": "2026-07-01"})
    resp = api.ok("GET", "cdc", {"entities": "Invoice,Payment", "changedSince": "2026-07-01"})
    assert resp["CDCResponse"] == [{"QueryResponse": [{}, {}]}]


def test_cdc_groups_orders_and_puts_deleted_last() -> None:
    api = Api()
    cust = api.customer("Changer")
    old = api.invoice(cust["Id"], line(5))
    api.clock.advance(60)
    since = "2026-07-10T12:00:30+00:00"
    a = api.invoice(cust["Id"], line(10))
    api.clock.advance(1)
    doomed = api.invoice(cust["Id"], line(20))
    api.clock.advance(1)
    api.ok("POST", "invoice", "operation=delete", {"Id": doomed["Id"], "SyncToken": "0"})
    api.clock.advance(1)
    api.ok("POST", "invoice", "operation=void", {"Id": a["Id"], "SyncToken": "0"})
    api.clock.advance(1)
    pay = api.pay(cust["Id"], 5, (old["Id"], 5))
    resp = api.ok("GET", "cdc", {"entities": "Invoice,Payment", "changedSince": since})
    inv_group, pay_group = resp["CDCResponse"][0]["QueryResponse"]
    ids = [o["Id"] for o in inv_group["Invoice"]]
    assert ids == [a["Id"], old["Id"], doomed["Id"]]  # by LastUpdatedTime, deleted last
    assert inv_group["Invoice"][0]["PrivateNote"].startswith("Voided")
    tomb = inv_group["Invoice"][-1]
    assert tomb["status"] == "Deleted" and "LastUpdatedTime" in tomb["MetaData"]
    assert [p["Id"] for p in pay_group["Payment"]] == [pay["Id"]]


def test_cdc_caps_at_1000_objects_across_entities() -> None:
    api = Api()
    for i in range(MAX_OBJECTS + 5):
        api.customer(f"C{i}")
    resp = api.ok("GET", "cdc", {"entities": "Customer,Invoice",
                                 "changedSince": "2026-07-10T00:00:00Z"})
    groups = resp["CDCResponse"][0]["QueryResponse"]
    assert len(groups[0]["Customer"]) == MAX_OBJECTS and groups[1] == {}
