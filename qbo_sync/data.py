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
    # Tax data, sent where QBO has the fields (docs/qbo-rules.md §5.1): ``None`` leaves
    # QuickBooks' own choice; False makes the customer tax-exempt.
    taxable: bool | None = None
    tax_id: str = ""  # VAT number / tax id → PrimaryTaxIdentifier
    tax_exemption_reason: str = ""  # kept in the customer's private Notes
    # False: archived in the app; the QBO customer is made inactive (QBO keeps it).
    active: bool = True


@dataclass(frozen=True)
class LineData:
    description: str
    quantity: Decimal
    unit_price: Decimal
    category: str = ""  # host line category → item mapping
    tax_rate: str = ""  # host tax rate key → tax mapping
    discount: Decimal = Decimal("0")  # absolute amount off this line


@dataclass(frozen=True, kw_only=True)
class DocumentFigures:
    """What invoices, credit memos and refunds share beyond their lines (keyword-only)."""

    # An amount off the whole document (QBO's one discount line); tax is computed on
    # the discounted amount unless ``tax_after_discount`` is False (US companies only).
    discount: Decimal = Decimal("0")
    tax_after_discount: bool = True
    # The lines' prices include tax (non-US companies: GlobalTaxCalculation TaxInclusive).
    prices_include_tax: bool = False
    # The app's own figures, compared with what QuickBooks stores after every write.
    # ``None``: the app states none, and qbo_sync derives them from the lines
    # (``mapping.totals``). ``tax_total`` is also what is sent when the app is the tax
    # authority (Settings → Tax authority).
    tax_total: Decimal | None = None
    total: Decimal | None = None


@dataclass(frozen=True)
class InvoiceData(DocumentFigures):
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
    balance: Decimal | None = None  # what is still owed, when the app knows


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
class CreditMemoData(DocumentFigures):
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
class RefundData(DocumentFigures):
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
class Settlement:
    """How an invoice marked paid in the app was paid, when no payment record says so
    (``InvoiceAdapter.settlement_of``)."""

    date: date
    method: str = ""
    reference: str = ""


@dataclass(frozen=True)
class PulledPayment:
    """A payment recorded in QBO, as handed to the host's invoice adapter."""

    qbo_id: str
    amount: Decimal
    date: date
    method: str = ""
    reference: str = ""


@dataclass(frozen=True)
class TimeEntryData:
    """Time worked, pushed as a QuickBooks TimeActivity (``TimeEntryAdapter``).

    ``hours`` and ``minutes`` are whole numbers (minutes below 60); ``hourly_rate`` is
    what an hour is billed at. ``worker_key`` names who did the work in the app; the
    connection's worker mappings turn it into a QuickBooks Employee or Vendor ("": the
    workspace's default worker)."""

    key: str
    workspace: str
    date: date
    hours: int
    minutes: int = 0
    contact_key: str = ""  # the customer the time is for ("" for internal time)
    hourly_rate: Decimal | None = None
    billable: bool = True
    billed: bool = False  # already on an invoice (BillableStatus HasBeenBilled)
    description: str = ""
    category: str = ""  # → item mapping (the service item), else the Default Item
    worker_key: str = ""


@dataclass(frozen=True)
class ImportedCustomer:
    """A QuickBooks customer read by a customer import, as handed to the contact
    adapter's ``should_import`` and ``create_contact`` (``qbo_sync.imports``)."""

    qbo_id: str
    workspace: str
    display_name: str
    company_name: str = ""
    email: str = ""
    phone: str = ""
    currency: str = ""  # the customer's CurrencyRef; "" when QuickBooks sent none
    billing_address: AddressData | None = None
    active: bool = True
    #: A sub-customer or job (``Job`` true, or a ``ParentRef``): its parent's Id.
    parent_id: str = ""
    is_sub_customer: bool = False
