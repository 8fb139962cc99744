"""TimeActivity in the simulator, by QBO's rules (docs/qbo-rules.md §5.10): NameOf with
the matching EmployeeRef / VendorRef, Hours or Start/End times, BillableStatus values,
HourlyRate on billable time, full updates with SyncToken, deletes, no CDC."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qbo_sync.testing.simulator.companies import US_REALM

from .support import Api

EMPLOYEE = {"NameOf": "Employee", "EmployeeRef": {"value": "1"}}


def _time(**extra) -> dict:
    return {**EMPLOYEE, "TxnDate": "2026-07-09", "Hours": 2, "Minutes": 30, **extra}


def test_a_time_activity_is_created_with_its_references_named() -> None:
    api = Api()
    cust = api.customer("Time Co")
    obj = api.ok("POST", "timeactivity", body=_time(
        CustomerRef={"value": cust["Id"]}, ItemRef={"value": "2"},
        BillableStatus="Billable", HourlyRate=120.5, Description="Design review"),
    )["TimeActivity"]
    assert obj["EmployeeRef"] == {"value": "1", "name": "Emily Employee"}
    assert obj["CustomerRef"]["name"] == "Time Co"
    assert (obj["Hours"], obj["Minutes"], obj["HourlyRate"]) == (2, 30, 120.5)
    assert (obj["SyncToken"], obj["BillableStatus"]) == ("0", "Billable")
    # Money is kept as Decimal inside, as for every amount.
    assert api.store.get(US_REALM, "TimeActivity", obj["Id"])["HourlyRate"] == Decimal("120.5")


def test_defaults_today_and_not_billable() -> None:
    api = Api()
    obj = api.ok("POST", "timeactivity", body={**EMPLOYEE, "Hours": 1})["TimeActivity"]
    assert obj["TxnDate"] == api.clock.now().date().isoformat()
    assert obj["BillableStatus"] == "NotBillable"
    assert obj["Minutes"] == 0


@pytest.mark.parametrize(("body", "code", "element"), [
    ({"EmployeeRef": {"value": "1"}, "Hours": 1}, "2020", "NameOf"),
    ({"NameOf": "Customer", "EmployeeRef": {"value": "1"}, "Hours": 1}, "2170", "NameOf"),
    ({"NameOf": "Employee", "Hours": 1}, "2020", "EmployeeRef"),
    ({"NameOf": "Vendor", "EmployeeRef": {"value": "1"}, "Hours": 1}, "2020", "VendorRef"),
    ({"NameOf": "Employee", "EmployeeRef": {"value": "99"}, "Hours": 1}, "2500",
     "EmployeeRef"),
    ({**EMPLOYEE}, "2020", "Hours"),
    ({**EMPLOYEE, "StartTime": "2026-07-09T09:00:00-07:00"}, "2020", "Hours"),
    ({**EMPLOYEE, "Hours": 1, "BillableStatus": "Maybe"}, "2170", "BillableStatus"),
    ({**EMPLOYEE, "Hours": 1, "BillableStatus": "Billable"}, "2020", "HourlyRate"),
    ({**EMPLOYEE, "Hours": 1.5}, "6000", "Hours"),
])
def test_validation_faults(body, code, element) -> None:
    err = Api().fault(code, "POST", "timeactivity", body=body)
    assert err["element"] == element


def test_start_and_end_times_stand_in_for_hours_and_a_vendor_works_too() -> None:
    api = Api()
    obj = api.ok("POST", "timeactivity", body={
        "NameOf": "Vendor", "VendorRef": {"value": "1"},
        "StartTime": "2026-07-09T09:00:00-07:00", "EndTime": "2026-07-09T11:00:00-07:00",
    })["TimeActivity"]
    assert obj["VendorRef"]["name"] == "Simulated Supplies Co"
    assert "EmployeeRef" not in obj


def test_update_needs_the_current_sync_token_and_delete_removes_it() -> None:
    api = Api()
    obj = api.ok("POST", "timeactivity", body=_time())["TimeActivity"]
    api.fault("5010", "POST", "timeactivity", body={**_time(Hours=3), "Id": obj["Id"],
                                                    "SyncToken": "7"})
    updated = api.ok("POST", "timeactivity", body={**_time(Hours=3), "Id": obj["Id"],
                                                   "SyncToken": "0"})["TimeActivity"]
    assert (updated["Hours"], updated["SyncToken"]) == (3, "1")
    # A full update clears what it leaves out.
    cleared = api.ok("POST", "timeactivity", body={**EMPLOYEE, "Hours": 3, "Id": obj["Id"],
                                                   "SyncToken": "1"})["TimeActivity"]
    assert "Minutes" in cleared and cleared["Minutes"] == 0
    gone = api.ok("POST", "timeactivity", {"operation": "delete"},
                  body={"Id": obj["Id"], "SyncToken": "2"})["TimeActivity"]
    assert gone["status"] == "Deleted"
    api.fault("610", "GET", f"timeactivity/{obj['Id']}")


def test_query_by_date_and_no_cdc() -> None:
    api = Api()
    api.ok("POST", "timeactivity", body=_time())
    api.ok("POST", "timeactivity", body=_time(TxnDate="2026-07-08"))
    rows = api.ok("GET", "query", {"query": "SELECT * FROM TimeActivity WHERE "
                                            "TxnDate = '2026-07-09'"})["QueryResponse"]
    assert [r["TxnDate"] for r in rows["TimeActivity"]] == ["2026-07-09"]
    api.fault("6000", "GET", "cdc", {"entities": "TimeActivity",
                                     "changedSince": "2026-07-09T00:00:00Z"})
