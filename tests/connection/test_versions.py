"""Numbered versions of the whole settings-and-mappings set (issue 14, item 4): one per
change, with who, when and a note; the diff of two; the rollback, itself a version and
validated like any change."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from qbo_sync.connection import documents, versions
from qbo_sync.connection import settings as configure
from qbo_sync.connection.lists import load_lists
from qbo_sync.exceptions import ConfigurationError, SettingsError
from qbo_sync.models import Connection, MappingVersion


@pytest.fixture
def ada(db: Any) -> Any:
    return get_user_model().objects.create_user("ada", password="pw")


def _numbers(conn: Connection) -> list[int]:
    return list(MappingVersion.objects.filter(connection=conn).order_by("number")
                .values_list("number", flat=True))


def _v(conn: Connection, number: int) -> MappingVersion:
    return MappingVersion.objects.get(connection=conn, number=number)


def test_the_versioned_settings_are_the_services_settings() -> None:
    # One list of settings: a version holds exactly what the settings service changes.
    assert versions.VERSIONED_SETTINGS == configure.SETTINGS_FIELDS
    assert set(versions.NAME_FIELDS) == set(configure.ID_FIELDS)
    assert all(versions.NAME_FIELDS[f] == configure.ID_FIELDS[f][2] for f in versions.NAME_FIELDS)


def test_each_change_is_a_version_of_the_whole_set(qbo_connection: Any, ada: Any) -> None:
    conn = qbo_connection
    configure.update_settings(conn, user=ada, default_item_id="2")
    # The first change also keeps the set as it was before, as version 1.
    assert _numbers(conn) == [1, 2]
    first, second = _v(conn, 1), _v(conn, 2)
    assert first.user is None and first.note == versions.BASELINE_NOTE
    assert first.snapshot["settings"]["default_item_id"] == ""
    assert (second.user, second.snapshot["settings"]["default_item_id"]) == (ada, "2")
    assert second.snapshot["names"]["settings"]["default_item_id"] == "Design"
    assert second.snapshot["schema_version"] == 1
    configure.set_item_mapping(conn, user=ada, category="design", item_id="2")
    configure.set_tax_mapping(conn, user=ada, tax_rate="8.25", tax_code_id="TAX")
    configure.delete_item_mapping(conn, user=ada, category="design")
    configure.delete_tax_mapping(conn, user=ada, tax_rate="8.25")
    assert _numbers(conn) == [1, 2, 3, 4, 5, 6]
    # Every version holds the whole set, not only what changed.
    assert _v(conn, 4).snapshot["items"] == {"design": "2"}
    assert _v(conn, 4).snapshot["taxes"] == {"8.25": "TAX"}
    assert _v(conn, 4).snapshot["settings"]["default_item_id"] == "2"
    assert _v(conn, 6).snapshot["items"] == {} == _v(conn, 6).snapshot["taxes"]
    assert all(v.created_at <= timezone.now() for v in MappingVersion.objects.all())


def test_no_change_no_version_and_a_refused_change_none_either(qbo_connection: Any) -> None:
    conn = qbo_connection
    assert configure.update_settings(conn, default_item_id="") == []
    assert not configure.delete_item_mapping(conn, category="nothing")
    assert _numbers(conn) == []
    with pytest.raises(SettingsError):
        configure.update_settings(conn, default_item_id="999")
    assert _numbers(conn) == []
    configure.update_settings(conn, default_item_id="2")
    configure.update_settings(conn, default_item_id="2")
    assert _numbers(conn) == [1, 2]


def test_an_import_is_one_version_with_its_note(qbo_connection: Any, ada: Any) -> None:
    conn = qbo_connection
    with versions.recording(conn, user=ada, note="Q3 catalogue"):
        configure.import_mappings(conn, user=ada, kind="items",
                                  data={"design": "2", "development": "3", "hosting": "4"})
    assert _numbers(conn) == [1, 2]
    assert (_v(conn, 2).note, _v(conn, 2).user) == ("Q3 catalogue", ada)
    assert len(_v(conn, 2).snapshot["items"]) == 3


def test_diff_key_by_key(qbo_connection: Any) -> None:
    conn = qbo_connection
    configure.import_mappings(conn, kind="items", data={"design": "2", "hosting": "4"})
    configure.import_mappings(conn, kind="items", data={"design": "3", "support": "5"},
                              replace=True)
    configure.update_settings(conn, invoice_number_strategy="qbo")
    rows = versions.diff(_v(conn, 2).snapshot, _v(conn, 4).snapshot)
    changed = {(r["section"], r["key"]): (r["a"], r["b"], r["change"]) for r in rows
               if r["change"]}
    assert changed == {
        ("Setting", "invoice_number_strategy"): ("app", "qbo", "changed"),
        ("Item mapping", "design"): ("Design (2)", "Development (3)", "changed"),
        ("Item mapping", "hosting"): ("Consulting (4)", "", "removed"),
        ("Item mapping", "support"): ("", "Hours (5)", "added"),
    }
    # Unchanged rows are there too, for the side-by-side view.
    assert any(r["key"] == "minor_version" and r["change"] == "" for r in rows)


def test_rollback_is_a_new_version_and_restores_the_whole_set(qbo_connection: Any,
                                                             ada: Any) -> None:
    conn = qbo_connection
    configure.update_settings(conn, default_item_id="2")
    configure.set_tax_mapping(conn, tax_rate="8.25", tax_code_id="TAX")   # version 3
    configure.update_settings(conn, default_item_id="3", tax_authority="quickbooks")
    configure.delete_tax_mapping(conn, tax_rate="8.25")
    configure.set_item_mapping(conn, category="design", item_id="4")      # version 6
    new = documents.rollback(conn, _v(conn, 3), user=ada, note="Back to Tuesday")
    assert (new.number, new.restored_from, new.user, new.note) == (7, _v(conn, 3), ada,
                                                                 "Back to Tuesday")
    assert versions.same_set(new.snapshot, _v(conn, 3).snapshot)
    conn.refresh_from_db()
    assert (conn.default_item_id, conn.tax_authority) == ("2", "app")
    assert configure.export_mappings(conn) == {"items": {}, "taxes": {"8.25": "TAX"}}
    # Going back to the same set again is refused: nothing would change.
    with pytest.raises(ConfigurationError, match="already match version 3"):
        documents.rollback(conn, _v(conn, 3), user=ada)
    assert _numbers(conn) == [1, 2, 3, 4, 5, 6, 7]
    # A rollback can itself be rolled back, to the version before it.
    documents.rollback(conn, _v(conn, 6))
    assert configure.export_mappings(conn)["items"] == {"design": "4"}


def test_a_rollback_that_no_longer_validates_is_refused_and_changes_nothing(
        qbo_connection: Any) -> None:
    conn = qbo_connection
    configure.set_item_mapping(conn, category="design", item_id="5")
    configure.update_settings(conn, default_item_id="2")
    configure.set_item_mapping(conn, category="design", item_id="2")
    # QuickBooks no longer has item 5 ("Hours"): the lists say so.
    lists = load_lists(conn)
    conn.lists_cache = {**lists, "items": [i for i in lists["items"] if i["id"] != "5"]}
    conn.save(update_fields=["lists_cache"])
    before = _numbers(conn)
    with pytest.raises(ConfigurationError) as err:
        documents.rollback(conn, _v(conn, 2))
    assert "Version 2 cannot be restored" in err.value.message and "5" in err.value.message
    assert err.value.fix
    assert _numbers(conn) == before
    assert configure.export_mappings(conn)["items"] == {"design": "2"}


def test_a_version_of_another_connection_is_refused(qbo_connection: Any,
                                                   qbo_connect: Any) -> None:
    from qbo_sync.testing.simulator.companies import UK_REALM

    other = qbo_connect(UK_REALM, workspace="uk")
    configure.update_settings(other, invoice_number_strategy="qbo")
    with pytest.raises(ConfigurationError, match="another connection"):
        documents.rollback(qbo_connection, _v(other, 1))
