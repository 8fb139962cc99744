"""The settings-and-mappings export: versioned JSON (``{"schema_version": 1, …}``),
its import (older shapes migrated, unknown ones refused with the fix), and the
rollback to a stored version, which is an import of that version's whole set.

Everything goes through :mod:`qbo_sync.connection.settings`, so an import or a
rollback is validated like a change typed in the admin, and becomes a new version."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from ..exceptions import ConfigurationError, QBOSyncError
from ..models import Connection, MappingVersion
from .settings import SETTINGS_FIELDS, import_mappings, update_settings
from .versions import SCHEMA_VERSION, recording, same_set, snapshot

#: Keys of the unversioned exports written before schema_version existed: the admin's
#: ``{"items", "taxes"}`` and the command's ``{"settings", "items", "taxes"}``.
LEGACY_KEYS = {"settings", "items", "taxes"}
EXAMPLE = '{"schema_version": 1, "settings": {...}, "items": {...}, "taxes": {...}}'


def export_document(connection: Connection) -> dict[str, Any]:
    """The whole set as the export file: the snapshot plus workspace and time."""
    return {**snapshot(connection), "workspace": connection.workspace,
            "exported_at": timezone.now().isoformat(timespec="seconds")}


def is_document(data: Any) -> bool:
    """Whether ``data`` is a whole export (any version) rather than one kind's mappings."""
    return isinstance(data, dict) and ("schema_version" in data or "settings" in data)


def migrate(data: Any) -> dict[str, Any]:
    """``data`` in the current schema: ``{"schema_version", "settings", "items",
    "taxes"}``. An unversioned export (schema 0) is migrated; a newer or unknown
    version is refused with a :class:`ConfigurationError` that names the fix."""
    if not isinstance(data, dict):
        raise ConfigurationError("The export must be a JSON object.", element="schema_version",
                                 fix=f"Use a file written by Export, e.g. {EXAMPLE}.")
    version = data.get("schema_version", 0)
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise ConfigurationError(
            f"schema_version {version!r} is not a version this qbo_sync knows (it reads 0, "
            f"an unversioned export, and {SCHEMA_VERSION}).", element="schema_version",
            fix="Export the settings again with this qbo_sync, or set schema_version to "
            f"{SCHEMA_VERSION} if the file follows the format {EXAMPLE}.")
    if version > SCHEMA_VERSION:
        raise ConfigurationError(
            f"The file is schema_version {version}, written by a newer qbo_sync; this one "
            f"reads up to {SCHEMA_VERSION}.", element="schema_version",
            fix="Upgrade qbo_sync where you import, or export from a qbo_sync of the same "
            "version.")
    if version == 0:
        unknown = sorted(set(data) - LEGACY_KEYS - {"schema_version"})
        if unknown or not set(data) & LEGACY_KEYS:
            found = ", ".join(map(str, unknown)) or "none of settings, items, taxes"
            raise ConfigurationError(
                "The file has no schema_version and is not an older export "
                f"(unexpected keys: {found}).",
                element="schema_version", fix=f"Use a file written by Export, e.g. {EXAMPLE}.")
    doc = {"schema_version": SCHEMA_VERSION}
    for part in ("settings", "items", "taxes"):
        value = data.get(part, {})
        if not isinstance(value, dict):
            raise ConfigurationError(
                f'"{part}" must be a JSON object (got {type(value).__name__}).', element=part,
                fix=f"Use a file written by Export, e.g. {EXAMPLE}.")
        doc[part] = value
    doc["partial"] = sorted(p for p in ("settings", "items", "taxes") if p not in data)
    return doc


def import_document(connection: Connection, data: Any, *, user: Any = None,
                    replace: bool = False, note: str = "") -> dict[str, Any]:
    """Apply an export: its settings, then its item and tax mappings (``replace``:
    mappings the file lacks are removed). All or nothing, validated by the settings
    service; one new version. Returns what changed per part."""
    doc = migrate(data)
    settings = {k: ("" if v is None else v) for k, v in doc["settings"].items()}
    with recording(connection, user=user, note=note) as state, transaction.atomic():
        changes = update_settings(connection, user=user, **settings) if settings else []
        summary: dict[str, Any] = {"settings": [c.field for c in changes]}
        for kind in ("items", "taxes"):
            if kind in doc["partial"]:
                continue  # a part the file does not hold is left alone, even with replace
            summary[kind] = import_mappings(connection, user=user, data=doc[kind],
                                            kind=kind, replace=replace)
    summary["version"] = state["version"]
    return summary


def rollback(connection: Connection, version: MappingVersion, *, user: Any = None,
             note: str = "") -> MappingVersion:
    """Put the whole set back as it was in ``version``: a new version (``restored_from``
    it), validated like any change. Raises :class:`ConfigurationError` when the version
    belongs to another connection, matches the current set, or no longer validates (an
    id QuickBooks no longer has): nothing is changed then."""
    if version.connection_id != connection.pk:
        raise ConfigurationError("That version belongs to another connection.",
                                 element="version", fix="Choose a version of this connection.")
    if same_set(snapshot(connection), version.snapshot):
        raise ConfigurationError(
            f"The settings and mappings already match version {version.number}; nothing "
            "to roll back.", element="version", fix="Choose another version.")
    try:
        with recording(connection, user=user, restored_from=version,
                       note=note or f"Rollback to version {version.number}.") as state:
            import_document(connection, version.snapshot, user=user, replace=True)
    except QBOSyncError as exc:
        raise ConfigurationError(
            f"Version {version.number} cannot be restored: {exc.message}",
            element="version", fix=f"{exc.fix} Or roll back to another version.") from exc
    return state["version"]


__all__ = ["SETTINGS_FIELDS", "export_document", "import_document", "is_document", "migrate",
           "rollback"]
