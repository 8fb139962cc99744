"""Time entries → QBO TimeActivity (docs/qbo-rules.md §5.10). Pure: neutral data, the
mapping context and the resolved references in, QBO JSON out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ..data import LineData, TimeEntryData
from ..exceptions import ConfigurationError, MappingError, QBOSyncError
from .context import MappingContext
from .lines import DESCRIPTION_MAX, resolve_item
from .text import as_decimal, clip, fits_qbo_number, problem, single_line

#: QBO's NameOf values and the reference each needs (§5.10).
NAME_OF_REFS = {"Employee": "EmployeeRef", "Vendor": "VendorRef"}
#: QBO's BillableStatus values (§5.10).
BILLABLE_STATUSES = ("Billable", "NotBillable", "HasBeenBilled")
#: The fields of a TimeActivity qbo_sync writes, compared to tell an accountant's edit.
OWNED_FIELDS = ("TxnDate", "NameOf", "EmployeeRef.value", "VendorRef.value",
                "CustomerRef.value", "ItemRef.value", "Hours", "Minutes", "HourlyRate",
                "BillableStatus", "Description")

WORKER_FIX = ("Admin → QuickBooks worker mappings: map the worker to a QuickBooks employee "
              "or vendor id, or add a default mapping with an empty worker key")


@dataclass(frozen=True)
class Worker:
    """Who did the work, as QuickBooks knows them: ``name_of`` is Employee or Vendor."""

    name_of: str
    qbo_id: str


def billable_status(data: TimeEntryData) -> str:
    if data.billed:
        return "HasBeenBilled"
    return "Billable" if data.billable else "NotBillable"


def _what(data: TimeEntryData) -> str:
    return f"Time entry id {data.key}"


def time_entry_problems(data: TimeEntryData, ctx: MappingContext,
                        worker: Worker | None) -> list[QBOSyncError]:
    """What QBO would reject (or the app would bill wrongly), found before any call."""
    what = _what(data)
    problems: list[QBOSyncError] = []
    if worker is None:
        problems.append(problem(ConfigurationError,
                                f"{what} has no QuickBooks worker "
                                f"(worker {data.worker_key or '(default)'!r})", WORKER_FIX))
    elif worker.name_of not in NAME_OF_REFS or not worker.qbo_id:
        problems.append(problem(ConfigurationError,
                                f"The worker mapping for {data.worker_key or '(default)'!r} "
                                f"says {worker.name_of!r}, which is neither Employee nor "
                                "Vendor, or has no id", WORKER_FIX))
    if not isinstance(data.hours, int) or isinstance(data.hours, bool) or data.hours < 0:
        problems.append(problem(MappingError, f"{what} has hours {data.hours!r}",
                                "make the host adapter pass a whole number of hours ≥ 0"))
    if not isinstance(data.minutes, int) or isinstance(data.minutes, bool) \
            or not 0 <= data.minutes < 60:
        problems.append(problem(MappingError, f"{what} has minutes {data.minutes!r}",
                                "make the host adapter pass whole minutes from 0 to 59"))
    elif data.hours == 0 and data.minutes == 0:
        problems.append(problem(MappingError, f"{what} has no time",
                                "log the time worked, or delete the entry"))
    rate = data.hourly_rate
    number = as_decimal(rate)
    if rate is not None and (number is None or not number.is_finite() or number < 0
                             or not fits_qbo_number(number)):
        problems.append(problem(MappingError, f"{what} has hourly rate {rate!r}",
                                "give a Decimal rate ≥ 0 with at most 5 decimal places"))
    if billable_status(data) == "Billable":
        # QBO requires HourlyRate on billable time (§5.10); billing needs a customer.
        if rate is None:
            problems.append(problem(MappingError, f"{what} is billable but has no hourly rate",
                                    "set the rate, or make the entry non-billable"))
        if not data.contact_key:
            problems.append(problem(MappingError, f"{what} is billable but has no customer",
                                    "assign the work to a contact, or make it non-billable"))
    try:
        _item(data, ctx)
    except (MappingError, ConfigurationError) as err:
        problems.append(err)
    return problems


def _item(data: TimeEntryData, ctx: MappingContext) -> str:
    # The service item follows the same rule as invoice lines: the category's item
    # mapping, else the Default Item.
    probe = LineData(description="", quantity=Decimal(0), unit_price=Decimal(0),
                     category=data.category)
    return resolve_item(probe, ctx)


def time_activity_payload(data: TimeEntryData, ctx: MappingContext, *, worker: Worker,
                          customer_id: str = "") -> dict:
    """The TimeActivity body for a create or full update (without Id / SyncToken).
    Raises the first of :func:`time_entry_problems`."""
    problems = time_entry_problems(data, ctx, worker)
    if problems:
        raise problems[0]
    payload: dict = {
        "TxnDate": data.date.isoformat(),
        "NameOf": worker.name_of,
        NAME_OF_REFS[worker.name_of]: {"value": worker.qbo_id},
        "ItemRef": {"value": _item(data, ctx)},
        "Hours": data.hours,
        "Minutes": data.minutes,
        "BillableStatus": billable_status(data),
    }
    if customer_id:
        payload["CustomerRef"] = {"value": customer_id}
    if data.hourly_rate is not None:
        payload["HourlyRate"] = data.hourly_rate
    description = clip(single_line(data.description), DESCRIPTION_MAX)
    if description:
        payload["Description"] = description
    return payload


def owned_differences(ours: dict, theirs: dict) -> list[str]:
    """Owned TimeActivity fields whose values differ, as "Field: ours → theirs". Only
    fields ``ours`` holds count: QBO adds values of its own on read (HourlyRate 0)."""
    out = []
    for name in OWNED_FIELDS:
        if _get(ours, name) is None:
            continue
        a, b = _norm(_get(ours, name)), _norm(_get(theirs, name))
        if a != b:
            out.append(f"{name}: {a or '(none)'} → {b or '(none)'}")
    return out


def _get(obj: dict, dotted: str) -> object:
    value: object = obj
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _norm(value: object) -> str:
    """Numbers compare by value (a stored payload keeps "120.00", QBO answers 120.0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return f"{number.normalize():f}" if number.is_finite() else text
