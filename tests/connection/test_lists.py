"""Lists loaded from QBO for the settings screens (docs/qbo-rules.md §5.6–§5.8)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from qbo_sync.connection.lists import (
    ar_account_choices,
    deposit_account_choices,
    item_choices,
    load_lists,
    tax_code_choices,
)
from qbo_sync.models import Connection
from qbo_sync.testing.simulator.companies import UK_REALM


def _api_calls(sim: Any) -> int:
    return sum(1 for r in sim.requests_log if "/v3/company/" in r.path)


def test_us_lists_offer_items_pseudo_codes_and_accounts(qbo_connection: Any) -> None:
    lists = load_lists(qbo_connection)
    assert {"id": "2", "name": "Design", "type": "Service"} in lists["items"]
    assert [c["id"] for c in lists["tax_codes"]][:2] == ["TAX", "NON"]
    kinds = {a["name"]: (a["type"], a["subtype"]) for a in lists["accounts"]}
    assert kinds["Undeposited Funds"] == ("Other Current Asset", "UndepositedFunds")
    stored = Connection.objects.get(pk=qbo_connection.pk)
    assert stored.lists_cache["items"] == lists["items"] and stored.lists_fetched_at
    assert stored.capabilities["is_us"] is True


def test_lists_are_cached_until_refresh_or_expiry(qbo_connection: Any, qbo_simulator: Any,
                                                   settings: Any) -> None:
    load_lists(qbo_connection)
    before = _api_calls(qbo_simulator)
    assert before >= 3
    load_lists(Connection.objects.get(pk=qbo_connection.pk))
    assert _api_calls(qbo_simulator) == before  # served from the cache
    load_lists(qbo_connection, refresh=True)
    after_refresh = _api_calls(qbo_simulator)
    assert after_refresh > before
    Connection.objects.filter(pk=qbo_connection.pk).update(
        lists_fetched_at=timezone.now() - timedelta(hours=2))
    load_lists(Connection.objects.get(pk=qbo_connection.pk))
    assert _api_calls(qbo_simulator) > after_refresh  # older than LISTS_CACHE_SECONDS


def test_uk_tax_codes_are_real_codes_without_pseudo_codes(db: Any, qbo_connect: Any) -> None:
    conn = qbo_connect(UK_REALM, workspace="uk")
    lists = load_lists(conn)
    ids = [c["id"] for c in lists["tax_codes"]]
    assert "TAX" not in ids and "NON" not in ids
    assert ("1", "20.0% S") in tax_code_choices(lists)


def test_choice_helpers() -> None:
    lists = {
        "items": [{"id": "3", "name": "development", "type": "Service"},
                  {"id": "2", "name": "Design", "type": "Service"}],
        "tax_codes": [{"id": "TAX", "name": "TAX", "description": "Taxable"}],
        "accounts": [
            {"id": "2", "name": "Checking", "type": "Bank", "subtype": "Checking"},
            {"id": "9", "name": "Petty cash", "type": "Other Current Asset", "subtype": "x"},
            {"id": "1", "name": "Zahlungen", "type": "Other Current Asset",
             "subtype": "UndepositedFunds"},
            {"id": "3", "name": "A/R", "type": "Accounts Receivable", "subtype": ""},
            {"id": "4", "name": "Services", "type": "Income", "subtype": "ServiceFeeIncome"},
        ],
    }
    # Undeposited Funds first whatever its (localised) name; income accounts never.
    assert deposit_account_choices(lists) == [("1", "Zahlungen"), ("2", "Checking"),
                                              ("9", "Petty cash")]
    assert ar_account_choices(lists) == [("3", "A/R")]
    assert item_choices(lists) == [("2", "Design"), ("3", "development")]
    assert tax_code_choices(lists) == [("TAX", "TAX — Taxable")]
