"""Mapping keys: the one rule the admin, the API, imports and the command share
(``qbo_sync.connection.settings.mapping_key``). Tax rate keys are rates or names, and a
rate is stored in one form; every key fits its column and holds no NUL."""

from __future__ import annotations

from typing import Any

import pytest

from qbo_sync.connection import settings as configure
from qbo_sync.exceptions import ConfigurationError
from qbo_sync.mapping.lines import _lookup_tax
from qbo_sync.models import ItemMapping, SettingsChange, TaxMapping


@pytest.mark.parametrize(("given", "stored"), [
    ("8.25", "8.25"), ("8.250", "8.25"), ("08.2500", "8.25"), ("20", "20.00"),
    ("20%", "20.00"), ("20 %", "20.00"), (".5", "0.50"), ("0", "0.00"), ("0.000", "0.00"),
    ("7.125", "7.125"), ("100", "100.00"), ("  12.5 ", "12.50"),
    ("Standard", "Standard"), ("VAT 20%", "VAT 20%"), ("Zero-rated", "Zero-rated"),
    ("État", "État"),
])
def test_tax_keys_are_stored_in_one_form(given: str, stored: str) -> None:
    assert configure.mapping_key("taxes", given) == stored
    # The push still finds the mapping from the key the host puts on its lines.
    assert _lookup_tax({stored: "X"}, given.strip()) == "X"


@pytest.mark.parametrize(("given", "says"), [
    ("8,25", "neither a rate"), ("8.2.5", "neither a rate"), ("-5", "neither a rate"),
    ("+5", "neither a rate"), ("1e3", "neither a rate"), ("20% VAT", "neither a rate"),
    ("#5", "neither a rate"), (".", "neither a rate"), ("%", "neither a rate"),
    ("tab\there", "neither a rate"), ("150", "over 100"), ("100.01", "over 100"),
    ("a\x00b", "NUL"), ("", "empty"), ("x" * 101, "at most 100"),
])
def test_tax_keys_that_are_neither_a_rate_nor_a_name_are_refused(given: str,
                                                                 says: str) -> None:
    with pytest.raises(ConfigurationError, match=says) as err:
        configure.mapping_key("taxes", given)
    assert err.value.element == "tax_rate" and err.value.fix


def test_category_keys_keep_their_text_but_fit_the_column() -> None:
    limit = ItemMapping._meta.get_field("category").max_length
    assert configure.mapping_key("items", " 8.250 ") == "8.250"  # a category is text
    assert configure.mapping_key("items", "x" * limit) == "x" * limit
    with pytest.raises(ConfigurationError, match=f"at most {limit}") as err:
        configure.mapping_key("items", "x" * (limit + 1))
    assert err.value.element == "category" and str(limit) in err.value.fix
    with pytest.raises(ConfigurationError, match="NUL"):
        configure.mapping_key("items", "de\x00sign")


def test_the_service_stores_and_finds_the_canonical_key(qbo_connection: Any) -> None:
    configure.set_tax_mapping(qbo_connection, tax_rate="8.250", tax_code_id="TAX")
    assert list(TaxMapping.objects.values_list("tax_rate", flat=True)) == ["8.25"]
    summary = configure.import_mappings(qbo_connection, kind="taxes", data={"8.25": "TAX"})
    assert summary["unchanged"] == ["8.25"]
    with pytest.raises(ConfigurationError, match="same key"):
        configure.import_mappings(qbo_connection, kind="taxes",
                                  data={"8.25": "TAX", "8.250": "NON"})
    with pytest.raises(ConfigurationError, match="neither a rate"):
        configure.set_tax_mapping(qbo_connection, tax_rate="8,25", tax_code_id="TAX")
    assert configure.delete_tax_mapping(qbo_connection, tax_rate="8.2500")
    assert not TaxMapping.objects.exists()
    assert not configure.delete_tax_mapping(qbo_connection, tax_rate="a\x00b")


def test_a_row_saved_before_the_rule_can_still_be_deleted(qbo_connection: Any) -> None:
    TaxMapping.objects.create(connection=qbo_connection, tax_rate="8.250", tax_code_id="TAX")
    assert configure.delete_tax_mapping(qbo_connection, tax_rate="8.250")
    assert not TaxMapping.objects.exists()


def test_a_key_at_the_limit_is_audited_within_the_audit_column(qbo_connection: Any) -> None:
    limit = ItemMapping._meta.get_field("category").max_length
    configure.set_item_mapping(qbo_connection, category="c" * limit, item_id="2")
    change = SettingsChange.objects.get()
    # The audit column is wide enough for the longest mapping label, kept whole.
    assert change.field == "item_mapping:" + "c" * limit
    assert configure.delete_item_mapping(qbo_connection, category="c" * limit)
