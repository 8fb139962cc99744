"""Changing a connection's settings and mappings, with validation against the lists
loaded from QBO and an audit row (``SettingsChange``) for every change.

The admin, the API and the management commands all call these functions, so a rule
lives here once. Status reporting is in :mod:`qbo_sync.status` and re-exported.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction

from ..conf import minor_version_error
from ..exceptions import ConfigurationError, SettingsError
from ..models import Connection, ItemMapping, SettingsChange, TaxMapping
from .lists import (
    ar_account_choices,
    deposit_account_choices,
    item_choices,
    load_lists,
    tax_code_choices,
)
from .status import missing_required, status_summary
from .versions import recording

__all__ = [
    "SETTINGS_FIELDS", "SettingsError", "update_settings", "set_item_mapping",
    "delete_item_mapping", "set_tax_mapping", "delete_tax_mapping", "export_mappings",
    "import_mappings", "mapping_key", "missing_required", "status_summary",
]

Choices = Callable[[dict], list[tuple[str, str]]]

#: Id settings: field → (label shown to users, list the id must come from, name field).
ID_FIELDS: dict[str, tuple[str, Choices, str]] = {
    "default_item_id": ("Default Item", item_choices, "default_item_name"),
    "default_tax_code_id": ("Default Tax Code", tax_code_choices, "default_tax_code_name"),
    "default_deposit_account_id": (
        "Default Deposit Account", deposit_account_choices, "default_deposit_account_name"),
    "ar_account_id": ("A/R Account", ar_account_choices, "ar_account_name"),
    "rounding_item_id": ("Rounding item", item_choices, "rounding_item_name"),
}
#: The largest rounding tolerance: rounding is for cents, not for hiding differences.
MAX_ROUNDING_TOLERANCE = Decimal("1.00")
#: Settings that take one of a fixed set of values.
CHOICE_FIELDS = {
    "invoice_number_strategy": Connection.NumberStrategy,
    "tax_authority": Connection.TaxAuthority,
}
SETTINGS_FIELDS = (*CHOICE_FIELDS, *ID_FIELDS, "rounding_tolerance", "minor_version")
RELOAD = "reload the lists (Settings → Reload from QuickBooks) and choose one that exists"


def _versioned(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a change inside :func:`~qbo_sync.connection.versions.recording`: the whole
    set becomes a new numbered version if the change altered it."""
    @functools.wraps(func)
    def wrapper(connection: Connection, *args: Any, user: Any = None, **kwargs: Any) -> Any:
        with recording(connection, user=user):
            return func(connection, *args, user=user, **kwargs)
    return wrapper


def _display(value: Any, name: str = "") -> str:
    value = "" if value is None else str(value)
    return f"{name} ({value})" if name and value else value


def _audit(connection: Connection, user: Any, field: str, old: str, new: str) -> SettingsChange:
    # The column fits "tax_mapping:<key>" for the longest key; a longer label (a future
    # kind) is cut to fit rather than refused (the values are kept whole).
    limit = SettingsChange._meta.get_field("field").max_length
    if len(field) > limit:
        field = field[:limit - 1] + "…"
    return SettingsChange.objects.create(
        connection=connection, field=field, old_value=old, new_value=new,
        user=user if getattr(user, "is_authenticated", False) else None,
    )


def rounding_tolerance(value: Any) -> Decimal:
    """A tolerance between 0.00 (rounding off) and MAX_ROUNDING_TOLERANCE, in cents."""
    try:
        amount = Decimal(str(value if value not in (None, "") else "0"))
    except ArithmeticError:
        amount = Decimal(-1)
    if not amount.is_finite() or amount < 0 or amount > MAX_ROUNDING_TOLERANCE \
            or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"must be an amount from 0.00 (off) to {MAX_ROUNDING_TOLERANCE} "
                         f"(got {value!r}).")
    return amount.quantize(Decimal("0.01"))


def _clean_setting(connection: Connection, field: str, value: Any,
                   lists: Callable[[], dict]) -> tuple[Any, str]:
    """(clean value, display name) for one setting, or raise ValueError with the fix."""
    if field in CHOICE_FIELDS:
        allowed = [c.value for c in CHOICE_FIELDS[field]]
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)} (got {value!r}).")
        return value, ""
    if field == "rounding_tolerance":
        return rounding_tolerance(value), ""
    if field == "minor_version":
        problem = minor_version_error(value)
        if problem:
            raise ValueError(problem)
        return int(value), ""
    label, choices, _ = ID_FIELDS[field]
    value = "" if value is None else str(value).strip()
    if not value:
        return "", ""  # clearing a setting is allowed; missing_required() reports it
    names = dict(choices(lists()))
    if value not in names:
        raise ValueError(f"{label} {value!r} is not in QuickBooks' list; {RELOAD}.")
    return value, names[value]


@_versioned
def update_settings(connection: Connection, *, user: Any = None,
                    **changes: Any) -> list[SettingsChange]:
    """Validate and apply ``changes`` (fields in :data:`SETTINGS_FIELDS`); record one
    ``SettingsChange`` per field that really changed. Raises :class:`SettingsError`
    (nothing saved) when any value is invalid."""
    unknown = [f for f in changes if f not in SETTINGS_FIELDS]
    if unknown:
        raise SettingsError({f: f"is not a setting; use one of {', '.join(SETTINGS_FIELDS)}."
                             for f in unknown})
    cache: dict[str, dict] = {}

    def lists() -> dict:
        if "lists" not in cache:
            cache["lists"] = load_lists(connection)
        return cache["lists"]

    cleaned: dict[str, tuple[Any, str]] = {}
    errors: dict[str, str] = {}
    for field, value in changes.items():
        try:
            cleaned[field] = _clean_setting(connection, field, value, lists)
        except ValueError as exc:
            errors[field] = str(exc)
    if errors:
        raise SettingsError(errors)

    records: list[SettingsChange] = []
    with transaction.atomic():
        row = Connection.objects.select_for_update().get(pk=connection.pk)
        update_fields: list[str] = []
        for field, (value, name) in cleaned.items():
            name_field = ID_FIELDS[field][2] if field in ID_FIELDS else ""
            old_name = getattr(row, name_field) if name_field else ""
            old = getattr(row, field)
            if old == value and (not name_field or old_name == name):
                continue
            setattr(row, field, value)
            update_fields.append(field)
            if name_field:
                setattr(row, name_field, name)
                update_fields.append(name_field)
            records.append(_audit(row, user, field, _display(old, old_name),
                                  _display(value, name)))
        if update_fields:
            row.save(update_fields=[*update_fields, "updated_at"])
            for field in update_fields:
                setattr(connection, field, getattr(row, field))
    return records


# Mappings -----------------------------------------------------------------------------


def _item_name(connection: Connection, item_id: str, lists: dict | None = None) -> str:
    names = dict(item_choices(lists or load_lists(connection)))
    if item_id not in names:
        raise ConfigurationError(f"Item {item_id!r} is not in QuickBooks' item list.",
                                 element="item_id", fix=f"Choose another item, or {RELOAD}.")
    return names[item_id]


def _tax_name(connection: Connection, code_id: str, lists: dict | None = None) -> str:
    names = {c["id"]: c["name"] for c in (lists or load_lists(connection))["tax_codes"]}
    if code_id not in names:
        raise ConfigurationError(f"Tax code {code_id!r} is not in QuickBooks' tax code list.",
                                 element="tax_code_id",
                                 fix=f"Choose another tax code, or {RELOAD}.")
    return names[code_id]


def _key(value: Any, what: str) -> str:
    key = str(value or "").strip()
    if not key:
        raise ConfigurationError(f"The {what} is empty.", element=what,
                                 fix=f"Give the {what} the mapping is for.")
    return key


#: Mapping kind → (model, key field, what the key is called).
MAPPING_KEYS: dict[str, tuple[Any, str, str]] = {
    "items": (ItemMapping, "category", "category"),
    "taxes": (TaxMapping, "tax_rate", "tax rate"),
}
#: A tax rate key that is a number: "8.25", "20", "20%", ".5" (no sign, no exponent).
_RATE = re.compile(r"(?P<int>\d*)(?:\.(?P<frac>\d*))?\s*%?")


def _shown(key: str) -> str:
    return repr(key if len(key) <= 40 else key[:40] + "…")


def _tax_key(key: str) -> str:
    """A tax rate key in its stored form. A number is kept exactly, with trailing zeros
    dropped down to two decimals ("8.250" → "8.25", "20" → "20.00", "7.125" stays),
    the form hosts usually give (the example product's ``tax_rate_key``); the lookup
    matches numerically equal keys anyway (mapping/lines.py ``_lookup_tax``). Anything
    else must be a plain name starting with a letter ("Standard", "VAT 20%")."""
    number = _RATE.fullmatch(key)
    if number and (number["int"] or number["frac"]):
        whole = number["int"].lstrip("0") or "0"
        frac = (number["frac"] or "").rstrip("0").ljust(2, "0")
        if len(whole) > 3 or int(whole) > 100 or (whole == "100" and frac.strip("0")):
            raise ConfigurationError(
                f"Tax rate {_shown(key)} is over 100 %.", element="tax_rate",
                fix="Give the rate as a percentage from 0 to 100, e.g. 8.25 for 8.25 %.")
        return f"{whole}.{frac}"
    if key[0].isalpha() and key.isprintable():
        return key
    raise ConfigurationError(
        f"Tax rate {_shown(key)} is neither a rate (a number such as 8.25 or 20%) nor a "
        "name (starting with a letter, such as 'Standard').", element="tax_rate",
        fix="Use the tax rate key the app puts on invoice lines: the rate as a plain "
        "number, or the rate's name.")


def mapping_key(kind: str, value: Any) -> str:
    """The stored form of a mapping key (kind ``"items"``: a line category; ``"taxes"``: a
    tax rate key), or :class:`ConfigurationError` saying what to fix. The one rule for
    keys: the admin, the API, imports and the command all come through here. The length
    limit is the model column's."""
    model, field, what = MAPPING_KEYS[kind]
    key = _key(value, field)
    if "\x00" in key:
        raise ConfigurationError(
            f"The {what} {_shown(key)} contains a NUL character (\\x00), which the database "
            "cannot store.", element=field, fix=f"Remove the NUL character from the {what}.")
    if kind == "taxes":
        key = _tax_key(key)
    limit = model._meta.get_field(field).max_length
    if len(key) > limit:
        raise ConfigurationError(
            f"The {what} {_shown(key)} is {len(key)} characters long; a mapping key holds at "
            f"most {limit}.", element=field,
            fix=f"Shorten the {what} to {limit} characters or fewer, in the app and here.")
    return key


def _stored_key(kind: str, value: Any) -> str | None:
    """The key a stored mapping for ``value`` would have; ``None`` if none can exist."""
    try:
        return mapping_key(kind, value)
    except ConfigurationError:
        key = str(value or "").strip()
        return key if key and "\x00" not in key else None


def _set_mapping(model: Any, connection: Connection, user: Any, label: str,
                 key_field: str, key: str, id_field: str, qbo_id: str, name: str) -> Any:
    """Create or change one mapping row and audit the change (``label:key``)."""
    name_field = id_field.replace("_id", "_name")
    with transaction.atomic():
        current = model.objects.filter(connection=connection, **{key_field: key}).first()
        old = _display(getattr(current, id_field), getattr(current, name_field)) if current else ""
        mapping, _ = model.objects.update_or_create(
            connection=connection, **{key_field: key},
            defaults={id_field: qbo_id, name_field: name})
        if old != _display(qbo_id, name):
            _audit(connection, user, f"{label}:{key}", old, _display(qbo_id, name))
    return mapping


def _delete_mapping(model: Any, connection: Connection, user: Any, label: str,
                    key_field: str, key: str, id_field: str) -> bool:
    kind = "items" if model is ItemMapping else "taxes"
    keys = {k for k in (str(key or "").strip(), _stored_key(kind, key))
            if k and "\x00" not in k}  # the key as given (rows saved before) or as stored
    current = model.objects.filter(connection=connection, **{f"{key_field}__in": keys}) \
        .order_by("pk").first() if keys else None
    if current is None:
        return False
    with transaction.atomic():
        current.delete()
        _audit(connection, user, f"{label}:{getattr(current, key_field)}", _display(
            getattr(current, id_field), getattr(current, id_field.replace("_id", "_name"))), "")
    return True


@_versioned
def set_item_mapping(connection: Connection, *, user: Any = None, category: str,
                     item_id: str, lists: dict | None = None) -> ItemMapping:
    """Map a host line category to a QBO item (validated against the item list)."""
    category, item_id = mapping_key("items", category), _key(item_id, "item_id")
    name = _item_name(connection, item_id, lists)
    return _set_mapping(ItemMapping, connection, user, "item_mapping", "category", category,
                        "item_id", item_id, name)


@_versioned
def delete_item_mapping(connection: Connection, *, user: Any = None, category: str) -> bool:
    """Remove a category's item mapping; False if there was none."""
    return _delete_mapping(ItemMapping, connection, user, "item_mapping", "category", category,
                           "item_id")


@_versioned
def set_tax_mapping(connection: Connection, *, user: Any = None, tax_rate: str,
                    tax_code_id: str, lists: dict | None = None) -> TaxMapping:
    """Map a host tax rate key (e.g. ``"20.00"``, or a name) to a QBO tax code; a
    number is stored in one form (``"8.250"`` → ``"8.25"``)."""
    tax_rate, tax_code_id = mapping_key("taxes", tax_rate), _key(tax_code_id, "tax_code_id")
    name = _tax_name(connection, tax_code_id, lists)
    return _set_mapping(TaxMapping, connection, user, "tax_mapping", "tax_rate", tax_rate,
                        "tax_code_id", tax_code_id, name)


@_versioned
def delete_tax_mapping(connection: Connection, *, user: Any = None, tax_rate: str) -> bool:
    """Remove a tax rate's mapping; False if there was none."""
    return _delete_mapping(TaxMapping, connection, user, "tax_mapping", "tax_rate", tax_rate,
                           "tax_code_id")


def export_mappings(connection: Connection) -> dict[str, dict[str, str]]:
    """``{"items": {category: item_id}, "taxes": {rate key: tax_code_id}}``."""
    return {
        "items": dict(connection.item_mappings.order_by("category")
                      .values_list("category", "item_id")),
        "taxes": dict(connection.tax_mappings.order_by("tax_rate")
                      .values_list("tax_rate", "tax_code_id")),
    }


@_versioned
def import_mappings(connection: Connection, *, user: Any = None, data: dict,
                    kind: str, replace: bool = False) -> dict[str, Any]:
    """Import ``{"design": "21", …}`` (kind ``"items"``) or ``{"20.00": "3", …}`` (kind
    ``"taxes"``). Every id is checked first; one unknown id rejects the whole import.
    Existing keys not in ``data`` are kept, or removed with ``replace``. Returns
    ``{"created", "updated", "unchanged", "deleted"}`` key lists."""
    if kind not in ("items", "taxes"):
        raise ConfigurationError(f"Unknown mapping kind {kind!r}.", element="kind",
                                 fix="Use 'items' or 'taxes'.")
    if not isinstance(data, dict) or not all(isinstance(v, (str, int)) for v in data.values()):
        raise ConfigurationError(
            "Mappings must be an object of key → QuickBooks id strings.", element=kind,
            fix='Use the export format, e.g. {"design": "21"} or {"20.00": "3"}.')
    pairs: dict[str, str] = {}
    given: dict[str, Any] = {}
    for raw, value in data.items():
        key, qbo_id = mapping_key(kind, raw), _key(value, "id")
        if key in pairs and pairs[key] != qbo_id:
            raise ConfigurationError(
                f"{_shown(str(given[key]))} and {_shown(str(raw))} are the same key "
                f"({key}) with different ids. Nothing was imported.", element=kind,
                fix="Keep one of them in the file.")
        pairs[key], given[key] = qbo_id, raw
    lists = load_lists(connection) if pairs else {}
    known = ({i for i, _ in item_choices(lists)} if kind == "items"
             else {c["id"] for c in lists.get("tax_codes", [])})
    unknown = sorted({v for v in pairs.values() if v not in known})
    if unknown:
        what = "item" if kind == "items" else "tax code"
        raise ConfigurationError(
            f"Unknown QuickBooks {what} id(s): {', '.join(unknown)}. Nothing was imported.",
            element=kind, fix=f"Correct those ids in the file, or {RELOAD}.")
    current = export_mappings(connection)[kind]
    summary: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": [],
                                     "deleted": []}
    setter = set_item_mapping if kind == "items" else set_tax_mapping
    with transaction.atomic():
        for key in sorted(set(current) - set(pairs)) if replace else []:
            summary["deleted"].append(key)
            if kind == "items":
                delete_item_mapping(connection, user=user, category=key)
            else:
                delete_tax_mapping(connection, user=user, tax_rate=key)
        for key, value in pairs.items():
            state = ("unchanged" if current.get(key) == value
                     else "updated" if key in current else "created")
            summary[state].append(key)
            if state != "unchanged":
                if kind == "items":
                    setter(connection, user=user, category=key, item_id=value, lists=lists)
                else:
                    setter(connection, user=user, tax_rate=key, tax_code_id=value, lists=lists)
    return summary
