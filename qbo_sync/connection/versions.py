"""Numbered versions of a connection's whole settings-and-mappings set.

Every change made through :mod:`qbo_sync.connection.settings` runs inside
:func:`recording`; when the outermost block ends and the set differs from the last
version, a :class:`~qbo_sync.models.MappingVersion` holds the new whole set (the
export document, :func:`snapshot`), who made it, when, and an optional note. A block
nested in another (an import that sets many mappings, an admin save of a form and its
inlines) adds to the outer one: one operation, one version.

The first change of a connection also records the set as it was before, as version 1,
so there is always a version to go back to. Versions are append-only: nothing here
changes or deletes one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction

from ..models import Connection, MappingVersion
from ..qbo.wire import json_safe

#: The export / snapshot format this qbo_sync writes (``documents.migrate`` reads older).
SCHEMA_VERSION = 1
#: The connection's settings kept in a version (the settings service's fields).
VERSIONED_SETTINGS = ("invoice_number_strategy", "tax_authority", "default_item_id",
                      "default_tax_code_id", "default_deposit_account_id", "ar_account_id",
                      "rounding_item_id", "rounding_tolerance", "minor_version")
#: Id settings → the field holding the name QuickBooks gave it (shown in diffs).
NAME_FIELDS = {"default_item_id": "default_item_name",
               "default_tax_code_id": "default_tax_code_name",
               "default_deposit_account_id": "default_deposit_account_name",
               "ar_account_id": "ar_account_name", "rounding_item_id": "rounding_item_name"}
BASELINE_NOTE = "The settings and mappings before the first recorded change."

_open: ContextVar[dict[str, Any] | None] = ContextVar("qbo_sync_mapping_version", default=None)


def snapshot(connection: Connection) -> dict[str, Any]:
    """The whole set as stored now: ``{"schema_version", "settings", "items", "taxes",
    "names"}`` (``names``: what QuickBooks calls each id, for people; imports ignore it)."""
    row = Connection.objects.get(pk=connection.pk)
    items = list(row.item_mappings.order_by("category").values_list(
        "category", "item_id", "item_name"))
    taxes = list(row.tax_mappings.order_by("tax_rate").values_list(
        "tax_rate", "tax_code_id", "tax_code_name"))
    return json_safe({
        "schema_version": SCHEMA_VERSION,
        "settings": {field: getattr(row, field) for field in VERSIONED_SETTINGS},
        "items": {key: qbo_id for key, qbo_id, _ in items},
        "taxes": {key: qbo_id for key, qbo_id, _ in taxes},
        "names": {
            "settings": {field: getattr(row, name) for field, name in NAME_FIELDS.items()
                         if getattr(row, name)},
            "items": {key: name for key, _, name in items if name},
            "taxes": {key: name for key, _, name in taxes if name},
        },
    })


def same_set(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two snapshots hold the same settings and mappings (names aside)."""
    parts = ("settings", "items", "taxes")
    return all((a or {}).get(p) == (b or {}).get(p) for p in parts)


def latest(connection: Connection) -> MappingVersion | None:
    return MappingVersion.objects.filter(connection=connection).order_by("-number").first()


def _write(connection: Connection, snap: dict[str, Any], *, user: Any, note: str,
           restored_from: MappingVersion | None = None) -> MappingVersion:
    # Lock the connection row so two writers cannot take the same number (the unique
    # constraint is the backstop).
    Connection.objects.select_for_update().filter(pk=connection.pk).exists()
    last = latest(connection)
    return MappingVersion.objects.create(
        connection=connection, number=(last.number + 1) if last else 1, snapshot=snap,
        user=user if getattr(user, "is_authenticated", False) else None,
        note=note, restored_from=restored_from)


def record(connection: Connection, *, user: Any = None, note: str = "",
           restored_from: MappingVersion | None = None) -> MappingVersion | None:
    """Write a version if the set differs from the last one; returns it (or None)."""
    snap = snapshot(connection)
    with transaction.atomic():
        last = latest(connection)
        if last is not None and same_set(last.snapshot, snap):
            return None
        return _write(connection, snap, user=user, note=note, restored_from=restored_from)


def set_note(note: str) -> None:
    """Give the version the open :func:`recording` block will write a note (the admin's
    "Note for this change" field)."""
    state = _open.get()
    if state is not None and note:
        state["note"] = note


@contextmanager
def recording(connection: Connection, *, user: Any = None, note: str = "",
              restored_from: MappingVersion | None = None) -> Iterator[dict[str, Any]]:
    """Changes made in this block become one new version when it ends without an
    error (nothing is written if the set did not change). Nested blocks for the same
    connection join the outer one."""
    state = _open.get()
    if state is not None and state["connection"] == connection.pk:
        if note and not state["note"]:
            state["note"] = note
        yield state
        return
    state = {"connection": connection.pk, "user": user, "note": note,
             "restored_from": restored_from, "version": None}
    token = _open.set(state)
    try:
        with transaction.atomic():
            # No version yet: keep the set as it was, written as version 1 only if the
            # block changes something (a no-op writes nothing).
            first = (None if MappingVersion.objects.filter(connection=connection).exists()
                     else snapshot(connection))
            yield state
            if first is not None:
                if same_set(first, snapshot(connection)):
                    return
                _write(connection, first, user=None, note=BASELINE_NOTE)
            state["version"] = record(connection, user=state["user"], note=state["note"],
                                      restored_from=state["restored_from"])
    finally:
        _open.reset(token)


# Differences ------------------------------------------------------------------------------

SECTIONS = (("settings", "Setting"), ("items", "Item mapping"), ("taxes", "Tax mapping"))


def _shown(snap: dict[str, Any], section: str, key: str) -> str:
    value = (snap.get(section) or {}).get(key)
    if value is None:
        return ""
    name = ((snap.get("names") or {}).get(section) or {}).get(key, "")
    value = str(value)
    return f"{name} ({value})" if name and value else value


def diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Key by key, every setting and mapping of two snapshots: ``{"section", "key",
    "a", "b", "change"}`` with change ``""`` (same), ``"changed"``, ``"added"`` (only
    in ``b``) or ``"removed"`` (only in ``a``). Values as people read them:
    ``"Design (21)"``."""
    rows: list[dict[str, Any]] = []
    for section, label in SECTIONS:
        left, right = (a.get(section) or {}), (b.get(section) or {})
        keys = list(VERSIONED_SETTINGS) if section == "settings" else sorted({*left, *right})
        for key in keys:
            if section == "settings" and key not in left and key not in right:
                continue
            change = ("added" if key not in left else "removed" if key not in right
                      else "changed" if str(left[key]) != str(right[key]) else "")
            rows.append({"section": label, "key": key, "a": _shown(a, section, key),
                         "b": _shown(b, section, key), "change": change})
    return rows
