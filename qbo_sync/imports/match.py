"""Which app contact a QuickBooks customer is (pure): the one normalisation rule and
the one matching rule of a customer import."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..data import AddressData, ImportedCustomer

RULES = ("email", "name", "both")


def normalise(text: str) -> str:
    """Case- and space-insensitive form: Unicode-compatible (NFKC), case-folded, blanks
    at either end dropped and runs of blanks inside made one space."""
    return " ".join(unicodedata.normalize("NFKC", text or "").casefold().split())


@dataclass
class ContactIndex:
    """The workspace's contacts by normalised email and display name."""

    by_email: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_name: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, key: str, email: str, name: str) -> None:
        for address in (email or "").split(","):
            if normalise(address):
                self.by_email[normalise(address)].append(key)
        if normalise(name):
            self.by_name[normalise(name)].append(key)


def candidates(customer: ImportedCustomer, index: ContactIndex, rule: str) -> list[str]:
    """The contact keys ``customer`` matches under ``rule``: by email (``email``), by
    display name (``name``), or by email and, when no email matches, by display name
    (``both``). More than one key is an ambiguous match."""
    if rule not in RULES:
        raise ValueError(f"Unknown match rule {rule!r}; use one of {', '.join(RULES)}.")
    found: list[str] = []
    if rule in ("email", "both"):
        for address in (customer.email or "").split(","):
            found.extend(index.by_email.get(normalise(address), []) if normalise(address)
                         else [])
    if not found and rule in ("name", "both"):
        found.extend(index.by_name.get(normalise(customer.display_name), []))
    return list(dict.fromkeys(found))


def _ref(value: object) -> str:
    return str((value or {}).get("value") or "") if isinstance(value, dict) else ""


def imported_customer(record: dict, workspace: str) -> ImportedCustomer:
    """A QuickBooks Customer object as neutral data."""
    addr = record.get("BillAddr") or {}
    address = None
    parts = (addr.get("Line1"), addr.get("Line2"), addr.get("City"),
             addr.get("CountrySubDivisionCode"), addr.get("PostalCode"), addr.get("Country"))
    if any(parts):
        address = AddressData(*(str(p or "") for p in parts))
    parent = _ref(record.get("ParentRef"))
    return ImportedCustomer(
        qbo_id=str(record.get("Id") or ""),
        workspace=workspace,
        display_name=str(record.get("DisplayName") or ""),
        company_name=str(record.get("CompanyName") or ""),
        email=str((record.get("PrimaryEmailAddr") or {}).get("Address") or ""),
        phone=str((record.get("PrimaryPhone") or {}).get("FreeFormNumber") or ""),
        currency=_ref(record.get("CurrencyRef")),
        billing_address=address,
        active=record.get("Active", True) is not False,
        parent_id=parent,
        is_sub_customer=bool(parent) or record.get("Job") is True,
    )


def index_of(rows: Iterable[tuple[str, str, str]]) -> ContactIndex:
    """An index from (key, email, display name) rows."""
    index = ContactIndex()
    for key, email, name in rows:
        index.add(key, email, name)
    return index
