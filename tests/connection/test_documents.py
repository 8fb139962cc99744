"""The versioned export (``{"schema_version": 1, …}``) and its import: the current
version, the older unversioned shapes (migrated), and unknown versions (refused with a
message naming the fix, from the service, the command and the admin)."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from qbo_sync.connection import documents
from qbo_sync.connection import settings as configure
from qbo_sync.exceptions import ConfigurationError, SettingsError
from qbo_sync.models import Connection, MappingVersion


def _setup(conn: Connection) -> None:
    configure.update_settings(conn, default_item_id="2", invoice_number_strategy="qbo")
    configure.set_item_mapping(conn, category="design", item_id="2")
    configure.set_tax_mapping(conn, tax_rate="8.25", tax_code_id="TAX")


def test_the_export_is_versioned_and_round_trips(qbo_connection: Any,
                                                 qbo_connect: Any) -> None:
    _setup(qbo_connection)
    doc = documents.export_document(qbo_connection)
    assert doc["schema_version"] == 1 and doc["workspace"] == "default"
    assert doc["items"] == {"design": "2"} and doc["taxes"] == {"8.25": "TAX"}
    assert doc["settings"]["default_item_id"] == "2"
    assert doc["settings"]["rounding_tolerance"] == "0.00"  # exact text, not a float
    assert "access_token" not in json.dumps(doc)
    # Into a fresh connection of the same company: the same set.
    Connection.objects.filter(pk=qbo_connection.pk).update(status="disconnected")
    other = qbo_connect(workspace="copy")
    summary = documents.import_document(other, json.loads(json.dumps(doc)))
    assert set(summary["settings"]) == {"default_item_id", "invoice_number_strategy"}
    assert summary["items"]["created"] == ["design"]
    assert summary["version"].number == 2  # after version 1, the set before the import
    copy = documents.export_document(other)
    assert {k: copy[k] for k in ("settings", "items", "taxes")} == {
        k: doc[k] for k in ("settings", "items", "taxes")}


@pytest.mark.parametrize("old", [
    {"items": {"design": "2"}, "taxes": {"8.25": "TAX"}},               # the admin's export
    {"settings": {"default_item_id": "2"}, "items": {"design": "2"},  # the command's
     "taxes": {"8.25": "TAX"}},
])
def test_an_unversioned_export_is_migrated(qbo_connection: Any, old: dict) -> None:
    doc = documents.migrate(old)
    assert doc["schema_version"] == 1 and doc["items"] == {"design": "2"}
    documents.import_document(qbo_connection, old)
    assert configure.export_mappings(qbo_connection) == {"items": {"design": "2"},
                                                        "taxes": {"8.25": "TAX"}}


def test_a_part_the_file_lacks_is_left_alone_even_with_replace(qbo_connection: Any) -> None:
    _setup(qbo_connection)
    documents.import_document(qbo_connection, {"schema_version": 1,
                                               "items": {"hosting": "4"}}, replace=True)
    assert configure.export_mappings(qbo_connection) == {"items": {"hosting": "4"},
                                                        "taxes": {"8.25": "TAX"}}


@pytest.mark.parametrize(("data", "says", "fix"), [
    ({"schema_version": 2, "items": {}}, "schema_version 2, written by a newer qbo_sync",
     "Upgrade qbo_sync"),
    ({"schema_version": "1", "items": {}}, "schema_version '1' is not a version",
     "Export the settings again"),
    ({"schema_version": True}, "schema_version True is not a version", "Export"),
    ({"schema_version": -1}, "schema_version -1 is not a version", "Export"),
    ({"colour": "blue"}, "no schema_version and is not an older export", "Export"),
    ({"schema_version": 1, "items": ["design"]}, '"items" must be a JSON object', "Export"),
    ([1, 2], "must be a JSON object", "Export"),
])
def test_an_unknown_shape_is_refused_with_the_fix(qbo_connection: Any, data: Any, says: str,
                                                 fix: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        documents.import_document(qbo_connection, data)
    assert says in err.value.message and fix in err.value.fix
    assert not MappingVersion.objects.exists()


def test_an_import_is_all_or_nothing(qbo_connection: Any) -> None:
    _setup(qbo_connection)
    before = documents.export_document(qbo_connection)
    bad = {"schema_version": 1, "settings": {"invoice_number_strategy": "app"},
           "items": {"design": "99"}}
    with pytest.raises(ConfigurationError, match="99"):
        documents.import_document(qbo_connection, bad)
    with pytest.raises(SettingsError, match="colour"):
        documents.import_document(qbo_connection, {"schema_version": 1,
                                                   "settings": {"colour": "blue"}})
    after = documents.export_document(qbo_connection)
    assert {k: after[k] for k in ("settings", "items", "taxes")} == {
        k: before[k] for k in ("settings", "items", "taxes")}


def _run(*args: str) -> str:
    out = StringIO()
    call_command("qbo_sync_settings", "--workspace", "default", *args, stdout=out,
                 stderr=StringIO())
    return out.getvalue()


def test_the_command_exports_and_imports_versioned_json(qbo_connection: Any,
                                                        tmp_path: Any) -> None:
    _setup(qbo_connection)
    exported = json.loads(_run("--export"))
    assert exported["schema_version"] == 1 and exported["items"] == {"design": "2"}
    path = tmp_path / "export.json"
    path.write_text(json.dumps({**exported, "items": {"hosting": "4"}}))
    out = _run("--import", str(path), "--replace", "--note", "From staging")
    assert "items mappings: 1 created" in out and "1 removed" in out
    latest = MappingVersion.objects.order_by("-number").first()
    assert latest.note == "From staging" and latest.snapshot["items"] == {"hosting": "4"}
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"schema_version": 7}))
    with pytest.raises(CommandError, match="schema_version 7.*Fix: Upgrade qbo_sync"):
        _run("--import", str(newer))
