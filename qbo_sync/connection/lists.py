"""Items, tax codes and accounts loaded live from QBO for the settings screens.

The lists are cached on the connection (``Connection.lists_cache``) for
``QBO_SYNC["LISTS_CACHE_SECONDS"]``: reads are metered (docs/qbo-rules.md §3), and the
admin and API forms ask for them on every page view.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from ..conf import app_settings
from ..models import Connection
from ..qbo.capabilities import Capabilities
from .clients import client_for

#: US Automated Sales Tax lines take the pseudo-codes TAX / NON (docs/qbo-rules.md §5.2, §5.8).
US_PSEUDO_CODES = (
    {"id": "TAX", "name": "TAX", "description": "Taxable (automated sales tax)"},
    {"id": "NON", "name": "NON", "description": "Not taxable"},
)
#: Accounts a payment or refund may be deposited to (docs/qbo-rules.md §5.3, §5.5).
DEPOSIT_ACCOUNT_TYPES = ("Bank", "Other Current Asset")


def capabilities_of(connection: Connection, client: Any = None) -> Capabilities:
    """The company's capabilities, read from QBO when never fetched or older than
    ``CAPABILITIES_MAX_AGE`` (CompanyInfo/Preferences, docs/qbo-rules.md §5.9)."""
    fetched = connection.capabilities_fetched_at
    max_age = timedelta(seconds=int(app_settings.CAPABILITIES_MAX_AGE))
    if connection.capabilities and fetched and timezone.now() - fetched < max_age:
        return Capabilities.from_dict(connection.capabilities)
    if client is None:
        with client_for(connection, source="lists") as own:
            caps = own.capabilities()
    else:
        caps = client.capabilities()
    connection.capabilities = caps.as_dict()
    connection.capabilities_fetched_at = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(
        capabilities=connection.capabilities,
        capabilities_fetched_at=connection.capabilities_fetched_at,
    )
    return caps


def _is_fresh(connection: Connection) -> bool:
    fetched = connection.lists_fetched_at
    if not connection.lists_cache or fetched is None:
        return False
    age = timezone.now() - fetched
    return age < timedelta(seconds=int(app_settings.LISTS_CACHE_SECONDS))


def _name(row: dict) -> str:
    # Sub-items and sub-accounts are only unambiguous by their full name (§5.6).
    return str(row.get("FullyQualifiedName") or row.get("Name") or row.get("Id"))


def load_lists(connection: Connection, *, refresh: bool = False) -> dict[str, Any]:
    """``{"items", "tax_codes", "accounts", "fetched_at"}`` for ``connection``.

    Served from the cache while it is fresh unless ``refresh``; otherwise read from
    QBO (raises ``QBOSyncError`` subclasses, e.g. ``ReconnectRequired``)."""
    if not refresh and _is_fresh(connection):
        return connection.lists_cache
    with client_for(connection, source="lists") as client:
        caps = capabilities_of(connection, client)
        items = [
            {"id": str(r["Id"]), "name": _name(r), "type": str(r.get("Type", ""))}
            for r in client.list_items()
        ]
        tax_codes = [
            {"id": str(r["Id"]), "name": _name(r), "description": str(r.get("Description", "")),
             "rates": _sales_rate_ids(r)}
            for r in client.list_tax_codes()
        ]
        accounts = [
            {"id": str(r["Id"]), "name": _name(r), "type": str(r.get("AccountType", "")),
             "subtype": str(r.get("AccountSubType", ""))}
            for r in client.list_accounts()
        ]
    if caps.is_us:
        # Lines in a US company take TAX or NON; offer them first, whether or not the
        # query returned them (docs/qbo-rules.md §5.2, §5.8).
        pseudo = {c["id"] for c in US_PSEUDO_CODES}
        tax_codes = [dict(c) for c in US_PSEUDO_CODES] + [
            c for c in tax_codes if c["id"] not in pseudo]
    now = timezone.now()
    lists = {"items": items, "tax_codes": tax_codes, "accounts": accounts,
             "fetched_at": now.isoformat()}
    connection.lists_cache = lists
    connection.lists_fetched_at = now
    Connection.objects.filter(pk=connection.pk).update(lists_cache=lists, lists_fetched_at=now)
    return lists


Choice = tuple[str, str]


def _sales_rate_ids(code: dict[str, Any]) -> list[str]:
    """The TaxRate ids a code charges on sales (docs/qbo-rules.md §5.8)."""
    details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    refs = [(d.get("TaxRateRef") or {}).get("value") for d in details]
    return [str(r) for r in refs if r]


def tax_code_rates(lists: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Code id → its sales TaxRate ids, from loaded lists (empty for an old cache)."""
    return {c["id"]: tuple(c["rates"]) for c in lists.get("tax_codes", []) if "rates" in c}


def item_choices(lists: dict[str, Any]) -> list[Choice]:
    """(id, name) of the items an invoice line may use, by name."""
    return sorted(((i["id"], i["name"]) for i in lists.get("items", [])),
                  key=lambda c: c[1].lower())


def tax_code_choices(lists: dict[str, Any]) -> list[Choice]:
    """(id, label) of the tax codes, in QBO's order (pseudo-codes first in the US)."""
    choices = []
    for code in lists.get("tax_codes", []):
        label = code["name"]
        if code.get("description") and code["description"] != code["name"]:
            label = f"{code['name']} — {code['description']}"
        choices.append((code["id"], label))
    return choices


def deposit_account_choices(lists: dict[str, Any]) -> list[Choice]:
    """Bank and Other Current Asset accounts, Undeposited Funds first: QBO's own default
    for payments (docs/qbo-rules.md §5.3, §5.7; found by subtype, its name is localised)."""
    rows = [a for a in lists.get("accounts", []) if a.get("type") in DEPOSIT_ACCOUNT_TYPES]
    rows.sort(key=lambda a: (a.get("subtype") != "UndepositedFunds", a["name"].lower()))
    return [(a["id"], a["name"]) for a in rows]


def ar_account_choices(lists: dict[str, Any]) -> list[Choice]:
    """Accounts Receivable accounts (docs/qbo-rules.md §5.7)."""
    rows = [a for a in lists.get("accounts", []) if a.get("type") == "Accounts Receivable"]
    return [(a["id"], a["name"]) for a in sorted(rows, key=lambda a: a["name"].lower())]
