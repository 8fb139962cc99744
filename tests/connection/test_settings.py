"""Settings, mappings, required settings and the status summary (qbo_sync.configure)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from qbo_sync.connection import settings as configure
from qbo_sync.exceptions import ConfigurationError, SettingsError
from qbo_sync.models import Connection, ItemMapping, SettingsChange, SyncJob, TaxMapping
from qbo_sync.testing.simulator.companies import UK_REALM


@pytest.fixture
def ada(db: Any) -> Any:
    return get_user_model().objects.create_user("ada", password="pw")


def test_update_settings_fills_names_and_audits(qbo_connection: Any, ada: Any) -> None:
    changes = configure.update_settings(
        qbo_connection, user=ada, default_item_id="2", default_deposit_account_id="1",
        invoice_number_strategy="qbo")
    conn = Connection.objects.get(pk=qbo_connection.pk)
    assert (conn.default_item_id, conn.default_item_name) == ("2", "Design")
    assert conn.default_deposit_account_name == "Undeposited Funds"
    assert conn.invoice_number_strategy == "qbo"
    assert {c.field for c in changes} == {"default_item_id", "default_deposit_account_id",
                                          "invoice_number_strategy"}
    audit = SettingsChange.objects.get(field="default_item_id")
    assert (audit.user, audit.old_value, audit.new_value) == (ada, "", "Design (2)")
    # Saving the same values again changes nothing and records nothing.
    assert configure.update_settings(conn, user=ada, default_item_id="2") == []
    assert SettingsChange.objects.count() == 3


def test_invalid_settings_name_the_field_and_save_nothing(qbo_connection: Any) -> None:
    with pytest.raises(SettingsError) as err:
        configure.update_settings(qbo_connection, default_item_id="999",
                                  default_deposit_account_id="4", minor_version=70,
                                  invoice_number_strategy="mine")
    errors = err.value.errors
    assert set(errors) == {"default_item_id", "default_deposit_account_id", "minor_version",
                           "invoice_number_strategy"}
    assert "999" in errors["default_item_id"] and "Reload" in errors["default_item_id"]
    assert "75" in errors["minor_version"]
    assert err.value.fix and isinstance(err.value, ConfigurationError)
    conn = Connection.objects.get(pk=qbo_connection.pk)
    assert conn.default_item_id == "" and conn.minor_version == 75
    assert not SettingsChange.objects.exists()


def test_tax_authority_is_a_setting_with_two_values(qbo_connection: Any, ada: Any) -> None:
    assert qbo_connection.tax_authority == "app"  # the default: totals agree by construction
    configure.update_settings(qbo_connection, user=ada, tax_authority="quickbooks")
    conn = Connection.objects.get(pk=qbo_connection.pk)
    assert conn.tax_authority == "quickbooks"
    audit = SettingsChange.objects.get(field="tax_authority")
    assert (audit.old_value, audit.new_value) == ("app", "quickbooks")
    with pytest.raises(SettingsError) as err:
        configure.update_settings(conn, tax_authority="accountant")
    assert "app, quickbooks" in err.value.errors["tax_authority"]


@pytest.mark.parametrize("bad", ["-0.01", "1.01", "0.001", "abc", "NaN"])
def test_rounding_tolerance_is_cents_up_to_one(qbo_connection: Any, bad: str) -> None:
    with pytest.raises(SettingsError) as err:
        configure.update_settings(qbo_connection, rounding_tolerance=bad)
    assert "0.00 (off) to 1.00" in err.value.errors["rounding_tolerance"]


def test_rounding_settings_are_saved_and_audited(qbo_connection: Any, ada: Any) -> None:
    configure.update_settings(qbo_connection, user=ada, rounding_tolerance="0.05",
                              rounding_item_id="2")
    conn = Connection.objects.get(pk=qbo_connection.pk)
    assert (conn.rounding_tolerance, conn.rounding_item_name) == (D("0.05"), "Design")
    assert {c.field for c in SettingsChange.objects.all()} == {"rounding_tolerance",
                                                             "rounding_item_id"}


def test_unknown_setting_and_clearing(qbo_connection: Any) -> None:
    with pytest.raises(SettingsError) as err:
        configure.update_settings(qbo_connection, access_token="x")
    assert "access_token" in err.value.errors
    configure.update_settings(qbo_connection, ar_account_id="3", minor_version=80)
    assert qbo_connection.ar_account_name == "Accounts Receivable (A/R)"
    configure.update_settings(qbo_connection, ar_account_id="")
    conn = Connection.objects.get(pk=qbo_connection.pk)
    assert (conn.ar_account_id, conn.ar_account_name, conn.minor_version) == ("", "", 80)


def test_item_and_tax_mappings(qbo_connection: Any, ada: Any) -> None:
    configure.set_item_mapping(qbo_connection, user=ada, category="design", item_id="2")
    configure.set_tax_mapping(qbo_connection, user=ada, tax_rate="8.25", tax_code_id="TAX")
    assert ItemMapping.objects.get(category="design").item_name == "Design"
    assert configure.export_mappings(qbo_connection) == {
        "items": {"design": "2"}, "taxes": {"8.25": "TAX"}}
    with pytest.raises(ConfigurationError, match="'77'"):
        configure.set_item_mapping(qbo_connection, category="x", item_id="77")
    assert configure.delete_item_mapping(qbo_connection, user=ada, category="design")
    assert not configure.delete_item_mapping(qbo_connection, category="design")
    assert configure.delete_tax_mapping(qbo_connection, tax_rate="8.25")
    fields = list(SettingsChange.objects.order_by("pk").values_list("field", "new_value"))
    assert fields == [("item_mapping:design", "Design (2)"), ("tax_mapping:8.25", "TAX (TAX)"),
                      ("item_mapping:design", ""), ("tax_mapping:8.25", "")]


def test_import_is_all_or_nothing(qbo_connection: Any) -> None:
    with pytest.raises(ConfigurationError) as err:
        configure.import_mappings(qbo_connection, kind="items",
                                  data={"design": "2", "development": "41", "hosting": "42"})
    assert "41, 42" in err.value.message and "Nothing was imported" in err.value.message
    assert not ItemMapping.objects.exists()
    summary = configure.import_mappings(qbo_connection, kind="items",
                                        data={"design": "2", "development": "3"})
    assert summary["created"] == ["design", "development"]
    summary = configure.import_mappings(qbo_connection, kind="items",
                                        data={"design": "2", "development": "4"})
    assert (summary["unchanged"], summary["updated"]) == (["design"], ["development"])
    summary = configure.import_mappings(qbo_connection, kind="items", data={"design": "5"},
                                        replace=True)
    assert summary["deleted"] == ["development"]
    assert configure.export_mappings(qbo_connection)["items"] == {"design": "5"}


def test_import_taxes_and_bad_kind(db: Any, qbo_connect: Any) -> None:
    conn = qbo_connect(UK_REALM, workspace="uk")
    configure.import_mappings(conn, kind="taxes", data={"20.00": "1", "0.00": "3"})
    assert TaxMapping.objects.get(tax_rate="20.00").tax_code_name == "20.0% S"
    with pytest.raises(ConfigurationError, match="TAX"):
        configure.import_mappings(conn, kind="taxes", data={"8.25": "TAX"})
    with pytest.raises(ConfigurationError):
        configure.import_mappings(conn, kind="accounts", data={})


def test_missing_required_us_and_non_us(qbo_connection: Any, qbo_connect: Any) -> None:
    assert configure.missing_required(qbo_connection) == ["Default Item",
                                                          "Default Deposit Account"]
    uk = qbo_connect(UK_REALM, workspace="uk")
    assert configure.missing_required(uk) == ["Default Item", "Default Deposit Account",
                                              "Default Tax Code"]
    configure.update_settings(uk, default_item_id="2", default_deposit_account_id="2",
                              default_tax_code_id="1")
    assert configure.missing_required(uk) == []


def test_status_summary(qbo_connection: Any) -> None:
    now = timezone.now()
    SyncJob.objects.create(workspace="default", connection=qbo_connection, entity="invoice",
                           action="sync", status="failed", error_message="Default Item is "
                           "not set", finished_at=now)
    SyncJob.objects.create(workspace="default", connection=qbo_connection, entity="contact",
                           action="sync", status="succeeded", finished_at=now, qbo_id="58")
    SyncJob.objects.create(workspace="other", entity="contact", action="sync", status="failed")
    info = configure.status_summary(qbo_connection)
    assert info["status"] == "connected" and info["realm_id"] == qbo_connection.realm_id
    assert info["company"] == "Simulated US Company"
    assert info["jobs"]["failed"] == 1 and info["jobs"]["succeeded"] == 1
    assert info["jobs"]["pending"] == 0
    assert info["last_failure"]["message"] == "Default Item is not set"
    assert info["last_success"]["qbo_id"] == "58"
    days = info["tokens"]["hard_expires_in_days"]
    assert days is not None and 4 * 365 < days <= 5 * 366  # the 5-year cap (§1.5)
    assert 0 < info["tokens"]["access_expires_in_seconds"] <= 3600
    assert qbo_connection.access_token not in str(info)
    assert info["missing_required"] == ["Default Item", "Default Deposit Account"]
    none = configure.status_summary(None, workspace="nowhere")
    assert none["status"] == "not_connected" and none["missing_required"] == []


def test_status_summary_counts_expired_hard_cap(qbo_connection: Any) -> None:
    qbo_connection.refresh_token_hard_expires_at = timezone.now() - timedelta(days=1)
    assert configure.status_summary(qbo_connection)["tokens"]["hard_expires_in_days"] < 0
