"""Query literals (docs/qbo-rules.md §8): quote(), where_eq(), and a round trip through the
simulator's query parser."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from qbo_sync.qbo.wire import quote, where_eq


@pytest.mark.parametrize("value,expected", [
    ("O'Brien", r"'O\'Brien'"),
    ("Back\\slash", r"'Back\\slash'"),
    ("it\\'s", r"'it\\\'s'"),  # backslash first, then the apostrophe
    ("''", r"'\'\''"),
    ("Ünïcödé 😀", "'Ünïcödé 😀'"),
    ("", "''"),
    ("50% off", "'50% off'"),
    ('Say "hi"', "'Say \"hi\"'"),
])
def test_quote_strings(value, expected):
    assert quote(value) == expected


@pytest.mark.parametrize("value,expected", [
    (True, "'true'"),
    (False, "'false'"),
    (42, "'42'"),
    (Decimal("10.50"), "'10.50'"),
    (Decimal("1E+2"), "'100'"),
    (date(2026, 7, 1), "'2026-07-01'"),
    (datetime(2026, 7, 1, 8, 30, tzinfo=UTC), "'2026-07-01T08:30:00+00:00'"),
])
def test_quote_other_types(value, expected):
    assert quote(value) == expected


@pytest.mark.parametrize("value", ["tab\there", "new\nline", "nul\x00", "cr\r"])
def test_quote_rejects_control_characters(value):
    with pytest.raises(ValueError, match="control characters"):
        quote(value)


def test_where_eq():
    assert where_eq("DisplayName", "O'Brien") == r"DisplayName = 'O\'Brien'"
    assert where_eq("CustomerRef", 58) == "CustomerRef = '58'"


NAMES = ["O'Brien", "Back\\slash", "Ünïcödé 😀", "It\\'s tricky", "Plain Name"]


@pytest.mark.django_db
@pytest.mark.usefixtures("refreshes")
def test_round_trip_through_simulator(qbo_connection):
    from qbo_sync.connection.clients import client_for

    client = client_for(qbo_connection)
    created = {name: client.create("customer", {"DisplayName": name}) for name in NAMES}
    for name in NAMES:
        found = client.query(f"SELECT * FROM Customer WHERE {where_eq('DisplayName', name)}")
        assert [c["Id"] for c in found] == [created[name]["Id"]], name
        assert found[0]["DisplayName"] == name
    # A near miss must not match: the escape is not a wildcard.
    assert client.query(f"SELECT * FROM Customer WHERE DisplayName = {quote('OBrien')}") == []
