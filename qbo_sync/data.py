"""Neutral data the host's adapters hand to qbo_sync. Money is ``Decimal``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class AddressData:
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""  # state / province / county
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True)
class ContactData:
    key: str  # the host object's id, as a string
    workspace: str
    display_name: str
    email: str = ""
    phone: str = ""
    company_name: str = ""
    currency: str = ""  # ISO 4217; "" means the company's home currency
    billing_address: AddressData | None = None


@dataclass(frozen=True)
class LineData:
    description: str
    quantity: Decimal
    unit_price: Decimal
    category: str = ""  # host line category → item mapping
    tax_rate: str = ""  # host tax rate key → tax mapping
    discount: Decimal = Decimal("0")  # absolute amount off this line


@dataclass(frozen=True)
class InvoiceData:
    key: str
    workspace: str
    number: str
    status: str  # draft | sent | paid | void
    contact_key: str
    issue_date: date
    due_date: date | None
    currency: str
    lines: tuple[LineData, ...] = field(default_factory=tuple)
    memo: str = ""  # shown to the customer
    private_note: str = ""
    exchange_rate: Decimal | None = None


@dataclass(frozen=True)
class PaymentData:
    key: str
    workspace: str
    invoice_key: str
    contact_key: str
    amount: Decimal
    date: date
    currency: str
    method: str = ""
    reference: str = ""


@dataclass(frozen=True)
class CreditMemoData:
    key: str
    workspace: str
    number: str
    contact_key: str
    date: date
    currency: str
    lines: tuple[LineData, ...] = field(default_factory=tuple)
    invoice_key: str = ""
    memo: str = ""


@dataclass(frozen=True)
class RefundData:
    key: str
    workspace: str
    number: str
    contact_key: str
    date: date
    currency: str
    lines: tuple[LineData, ...] = field(default_factory=tuple)
    method: str = ""
    reference: str = ""
    memo: str = ""


@dataclass(frozen=True)
class PulledPayment:
    """A payment recorded in QBO, as handed to the host's invoice adapter."""

    qbo_id: str
    amount: Decimal
    date: date
    method: str = ""
    reference: str = ""
