"""Contact → QBO Customer (docs/qbo-rules.md §5.1)."""

from __future__ import annotations

import re
from typing import Any

from ..data import AddressData, ContactData
from ..exceptions import MappingError
from .context import MappingContext
from .text import clean_name, clip, problem, single_line

DISPLAY_NAME_MAX = 500
COMPANY_NAME_MAX = 100
EMAIL_MAX = 100
PHONE_MAX = 30
NOTES_MAX = 2000  # docs/qbo-rules.md §5.1
# PhysicalAddress limits (docs/qbo-rules.md §5.1).
ADDRESS_LIMITS = {
    "Line1": 500,
    "Line2": 500,
    "City": 255,
    "CountrySubDivisionCode": 255,
    "PostalCode": 30,
    "Country": 255,
}

# Loose RFC 822 shape plus the Customer page's rule "must contain @ and ." (§5.1):
# one @, no whitespace, a dot-separated domain with no empty label.
_EMAIL_RE = re.compile(r"^[^@\s,;]+@[^@\s,;.]+(\.[^@\s,;.]+)+$")


def describe_contact(contact: ContactData) -> str:
    name = single_line(contact.display_name) or single_line(contact.company_name)
    return f"Contact {name!r} (id {contact.key})" if name else f"Contact id {contact.key}"


def customer_display_name(contact: ContactData) -> str:
    """The contact's QBO ``DisplayName``: cleaned, at most 500 characters.

    Falls back to the company name when the contact has no display name. Raises
    :class:`MappingError` when neither gives a usable name.
    """
    name = clean_name(contact.display_name) or clean_name(contact.company_name)
    if not name:
        raise problem(
            MappingError,
            f"{describe_contact(contact)} has no name",
            "give the contact a name or a company name, then retry",
        )
    return clip(name, DISPLAY_NAME_MAX)


def customer_display_name_variant(name: str, currency: str) -> str:
    """The DisplayName of a second QBO customer for the same contact in another
    currency, e.g. "Acme Ltd (EUR)". A customer's currency is fixed once set, and
    DisplayName must be unique (docs/qbo-rules.md §5.9, §5.1)."""
    suffix = f" ({currency.strip().upper()})"
    base = clip(clean_name(name), DISPLAY_NAME_MAX - len(suffix))
    return f"{base}{suffix}"


def validate_email(value: str) -> bool:
    """Whether ``value`` is an address (or comma-separated list) QBO will store."""
    if not value or len(value) > EMAIL_MAX:
        return False
    return all(_EMAIL_RE.match(part.strip()) for part in value.split(","))


def contact_email(contact: ContactData) -> str:
    """The contact's email as QBO will store it ("" when none); raises on a bad one."""
    raw = single_line(contact.email)
    if not raw:
        return ""
    value = ", ".join(part.strip() for part in raw.split(",") if part.strip())
    if not validate_email(value):
        too_long = len(value) > EMAIL_MAX
        what = (
            f"{describe_contact(contact)} has an email address longer than {EMAIL_MAX} "
            "characters"
            if too_long
            else f"{describe_contact(contact)} has an invalid email address {value!r}"
        )
        raise problem(
            MappingError, what, "correct the contact's email address (name@example.com)"
        )
    return value


def contact_phone(contact: ContactData) -> str:
    """The contact's phone, single-spaced ("" when none); raises when over 30 chars."""
    value = single_line(contact.phone)
    if len(value) > PHONE_MAX:
        # Cutting a phone number would store a wrong number, so ask instead.
        raise problem(
            MappingError,
            f"{describe_contact(contact)} has a phone number of {len(value)} characters "
            f"(QuickBooks allows {PHONE_MAX})",
            "shorten the contact's phone number",
        )
    return value


def address_payload(address: AddressData | None) -> dict[str, str] | None:
    """A QBO PhysicalAddress, or ``None`` when the address is empty."""
    if address is None:
        return None
    values = {
        "Line1": address.line1,
        "Line2": address.line2,
        "City": address.city,
        "CountrySubDivisionCode": address.region,
        "PostalCode": address.postal_code,
        "Country": address.country,
    }
    result = {
        key: clip(single_line(value), ADDRESS_LIMITS[key])
        for key, value in values.items()
        if single_line(value)
    }
    return result or None


def customer_payload(
    contact: ContactData, ctx: MappingContext, *, display_name: str | None = None
) -> dict[str, Any]:
    """The Customer create body. ``display_name`` overrides the derived name (for a
    currency variant or a disambiguated name after 6240)."""
    name = clip(clean_name(display_name), DISPLAY_NAME_MAX) if display_name else ""
    payload: dict[str, Any] = {"DisplayName": name or customer_display_name(contact)}
    company = clip(clean_name(contact.company_name), COMPANY_NAME_MAX)
    if company:
        payload["CompanyName"] = company
    email = contact_email(contact)
    if email:
        payload["PrimaryEmailAddr"] = {"Address": email}
    phone = contact_phone(contact)
    if phone:
        payload["PrimaryPhone"] = {"FreeFormNumber": phone}
    bill_addr = address_payload(contact.billing_address)
    if bill_addr:
        payload["BillAddr"] = bill_addr
    if contact.taxable is not None:
        payload["Taxable"] = contact.taxable
    tax_id = single_line(contact.tax_id)
    if tax_id:
        payload["PrimaryTaxIdentifier"] = tax_id
    reason = single_line(contact.tax_exemption_reason)
    if reason:
        # TaxExemptionReasonId takes an Intuit list id the API does not publish, so the
        # reason is kept where an accountant sees it.
        payload["Notes"] = clip(f"Tax exempt: {reason}", NOTES_MAX)
    if not contact.active:
        # Stated only when inactive: links written before keep their hash. Back to
        # active, the sparse update sends Active true (``_blank``).
        payload["Active"] = False
    if ctx.multicurrency and contact.currency.strip():
        currency = ctx.currency_ref(contact.currency, describe_contact(contact))
        if currency:
            payload["CurrencyRef"] = {"value": currency}
    return payload


# CurrencyRef is write-on-create (docs/qbo-rules.md §5.1): a change needs a new customer.
_NOT_UPDATABLE = frozenset({"CurrencyRef"})


def _blank(value: Any) -> Any:
    if isinstance(value, bool):
        return True  # no longer stated: back to QuickBooks' default (taxable, active)
    if isinstance(value, dict):
        return {key: "" for key in value}
    return ""


def customer_sparse_update(
    current: dict[str, Any],
    previous: dict[str, Any],
    *,
    qbo_id: str,
    sync_token: str,
) -> dict[str, Any] | None:
    """A sparse update body with only the fields that changed, or ``None``.

    ``current`` and ``previous`` are :func:`customer_payload` results. A sparse update
    leaves omitted fields alone (docs/qbo-rules.md §5), so a field the contact no longer has
    is sent blank to clear it. ``CurrencyRef`` is never sent: it cannot change.
    """
    changes: dict[str, Any] = {}
    for key in sorted(set(current) | set(previous)):
        if key in _NOT_UPDATABLE:
            continue
        if key in current:
            if current[key] != previous.get(key):
                changes[key] = current[key]
        elif key != "DisplayName":  # DisplayName cannot be removed (§5.1)
            changes[key] = _blank(previous[key])
    if not changes:
        return None
    return {"Id": qbo_id, "SyncToken": sync_token, "sparse": True, **changes}
