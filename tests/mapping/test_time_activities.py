"""Time entries → TimeActivity payloads: pure, no database, no HTTP (docs/qbo-rules.md
§5.10)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from qbo_sync.data import TimeEntryData
from qbo_sync.exceptions import ConfigurationError, MappingError
from qbo_sync.mapping.time_activities import (
    Worker,
    owned_differences,
    time_activity_payload,
    time_entry_problems,
)

from .support import make_ctx

EMPLOYEE = Worker("Employee", "55")


def entry(**overrides) -> TimeEntryData:
    values = dict(key="9", workspace="w", date=date(2026, 7, 9), hours=1, minutes=15,
                  contact_key="4", hourly_rate=Decimal("120.00"), description="Review",
                  category="consulting")
    values.update(overrides)
    return TimeEntryData(**values)


def test_payload_for_an_employee_with_the_mapped_item():
    payload = time_activity_payload(entry(), make_ctx(), worker=EMPLOYEE, customer_id="58")
    assert payload == {
        "TxnDate": "2026-07-09", "NameOf": "Employee", "EmployeeRef": {"value": "55"},
        "ItemRef": {"value": "11"}, "Hours": 1, "Minutes": 15, "BillableStatus": "Billable",
        "CustomerRef": {"value": "58"}, "HourlyRate": Decimal("120.00"),
        "Description": "Review",
    }


def test_vendor_default_item_and_the_three_statuses():
    ctx = make_ctx()
    vendor = Worker("Vendor", "7")
    billed = time_activity_payload(entry(category="design", billed=True), ctx, worker=vendor,
                                   customer_id="58")
    assert billed["VendorRef"] == {"value": "7"} and "EmployeeRef" not in billed
    assert (billed["ItemRef"], billed["BillableStatus"]) == ({"value": "1"}, "HasBeenBilled")
    internal = time_activity_payload(entry(billable=False, contact_key="", hourly_rate=None,
                                           description=""), ctx, worker=vendor)
    assert internal["BillableStatus"] == "NotBillable"
    assert not {"CustomerRef", "HourlyRate", "Description"} & set(internal)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"hourly_rate": None}, "billable but has no hourly rate"),
    ({"contact_key": ""}, "billable but has no customer"),
    ({"minutes": 60}, "minutes 60"),
    ({"hours": 0, "minutes": 0}, "has no time"),
    ({"hourly_rate": 12.5}, "hourly rate 12.5"),
    ({"hourly_rate": Decimal("-1")}, "hourly rate"),
    ({"hours": Decimal("1.5")}, "hours Decimal('1.5')"),
])
def test_problems_name_the_fix(overrides, message):
    problems = time_entry_problems(entry(**overrides), make_ctx(), EMPLOYEE)
    assert [type(p) for p in problems] == [MappingError]
    assert message in problems[0].message
    with pytest.raises(MappingError):
        time_activity_payload(entry(**overrides), make_ctx(), worker=EMPLOYEE,
                              customer_id="58")


def test_worker_and_item_problems_are_settings_problems():
    no_item = make_ctx(default_item_id="", item_map={})
    problems = time_entry_problems(entry(), no_item, None)
    assert all(isinstance(p, ConfigurationError) for p in problems)
    text = " ".join(p.message for p in problems)
    assert "worker mappings" in text and "Default Item" in text
    bad = time_entry_problems(entry(), make_ctx(), Worker("Customer", "1"))
    assert "neither Employee nor Vendor" in bad[0].message


def test_owned_differences_compare_numbers_by_value_and_only_what_was_sent():
    ours = {"Hours": 1, "HourlyRate": "120.00", "Description": "Review"}
    theirs = {"Hours": 1, "HourlyRate": 120.0, "Description": "Review", "Minutes": 0,
              "CustomerRef": {"value": "3"}}
    assert owned_differences(ours, theirs) == []
    assert owned_differences(ours, {**theirs, "Hours": 4}) == ["Hours: 1 → 4"]
