"""What differs between one app invoice and the QuickBooks record it is linked to.

Pure: the app's side as an :class:`AppInvoice`, QuickBooks' record as the JSON a query
returned, out come :class:`Found` rows, each with a kind, a one-line explanation, both
sides' values and the repairs that fit (docs/reconciliation.md). The rules for paid,
void and totals are the ones the push and the pull use (``qbo.records``,
``mapping.totals``), so the three never disagree about what QuickBooks holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from ..data import InvoiceData
from ..mapping.text import money_str
from ..mapping.totals import app_figures, compare, quickbooks_figures
from ..models import DifferenceKind as Kind
from ..push.conflicts import differences
from ..qbo.records import balance, is_paid, is_void

ZERO = Decimal("0")

# Repair actions (docs/reconciliation.md, "Repairs").
PUSH, ACCEPT, LINK, VOID, IGNORE = "push", "accept", "link", "void", "ignore"


@dataclass(frozen=True)
class AppPayment:
    key: str
    amount: Decimal
    #: Sent from the app (True) or recorded from QuickBooks (False).
    pushed: bool
    #: The QuickBooks Payment it is linked to ("" if none).
    qbo_id: str = ""


@dataclass(frozen=True)
class AppInvoice:
    """The app's side of one linked invoice."""

    key: str
    number: str
    #: draft | sent | paid | void, or "deleted" when the host row is gone.
    status: str
    data: InvoiceData | None = None
    #: The QuickBooks customer the invoice's contact is linked to ("" if unknown).
    customer_qbo_id: str = ""
    payments: tuple[AppPayment, ...] = ()
    #: What the push last wrote (EntityLink.last_payload, masked).
    last_payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Found:
    kind: str
    explanation: str
    app: dict[str, Any]
    quickbooks: dict[str, Any]
    qbo_id: str
    repairs: tuple[str, ...]
    #: The repair that is safe unattended (``--fix safe``), or "".
    safe: str = ""
    entity: str = "invoice"
    #: For payment rows: the host payment's key.
    payment_key: str = ""


def _name(app: AppInvoice) -> str:
    return f"Invoice {app.number}" if app.number else f"Invoice {app.key}"


def _qbo_payment_ids(record: dict) -> list[str]:
    return [str(t.get("TxnId")) for t in record.get("LinkedTxn") or []
            if t.get("TxnType") == "Payment"]


def _paid_in_qbo(record: dict) -> Decimal:
    return Decimal(str(record.get("TotalAmt") or 0)) - balance(record)


def invoice_differences(app: AppInvoice, record: dict | None, qbo_id: str, *,
                        is_us: bool = True, authority: str = "app") -> list[Found]:
    """Every difference between ``app`` and ``record`` (None: QuickBooks has no such
    invoice any more)."""
    name = _name(app)
    if record is None:
        if app.status in ("void", "deleted"):
            return []  # gone on both sides
        return [Found(Kind.MISSING, f"{name} was deleted in QuickBooks (Id {qbo_id}); the "
                      f"app still has it {app.status}.", {"status": app.status},
                      {"status": "deleted"}, qbo_id, (PUSH, ACCEPT, IGNORE))]
    void_there = is_void(record)
    if app.status in ("void", "deleted"):
        if void_there:
            return []
        if app.status == "deleted":
            # The host row is gone, so no push job can carry a void: a person voids it
            # in QuickBooks, or says why it stays.
            return [Found(Kind.OPEN_IN_QBO, f"{name} was deleted in the app but is open in "
                          f"QuickBooks (total {record.get('TotalAmt')}, open "
                          f"{balance(record)}): void it in QuickBooks.", {"status": "deleted"},
                          _figures(record), qbo_id, (IGNORE,))]
        return [Found(Kind.OPEN_IN_QBO, f"{name} is void in the app but open in QuickBooks "
                      f"(total {record.get('TotalAmt')}, open {balance(record)}).",
                      {"status": app.status}, _figures(record), qbo_id,
                      (VOID, IGNORE), safe=VOID)]
    if void_there:
        return [Found(Kind.VOIDED, f"{name} was voided in QuickBooks; the app still has it "
                      f"{app.status}.", {"status": app.status}, {"status": "void"}, qbo_id,
                      (ACCEPT, IGNORE))]
    out: list[Found] = []
    theirs = str((record.get("CustomerRef") or {}).get("value") or "")
    if app.customer_qbo_id and theirs and theirs != app.customer_qbo_id:
        out.append(Found(Kind.CUSTOMER, f"{name} is billed to QuickBooks customer {theirs}; "
                         f"the app's contact is customer {app.customer_qbo_id}.",
                         {"customer": app.customer_qbo_id}, {"customer": theirs}, qbo_id,
                         (PUSH, IGNORE)))
    edited = [d for d in differences(app.last_payload, record)
              if not d.startswith("CustomerRef")] if app.last_payload else []
    if edited:
        out.append(Found(Kind.EDITED, f"{name} was edited in QuickBooks: " + "; ".join(edited)
                         + ".", _app_figures(app, is_us=is_us), _figures(record), qbo_id,
                         (PUSH, ACCEPT, IGNORE)))
    if app.data is not None and not edited:
        out += _totals(name, app.data, record, qbo_id, "invoice", is_us=is_us,
                       authority=authority)
    out += _paid(app, record, qbo_id)
    out += _payments(app, record, qbo_id)
    return out


def _figures(record: dict) -> dict[str, Any]:
    tax = (record.get("TxnTaxDetail") or {}).get("TotalTax")
    return {"total": money_str(Decimal(str(record.get("TotalAmt") or 0))),
            "tax": None if tax is None else money_str(Decimal(str(tax))),
            "balance": money_str(balance(record))}


def _app_figures(app: AppInvoice, *, is_us: bool) -> dict[str, Any]:
    figures = app_figures(app.data, is_us=is_us) if app.data is not None else None
    if figures is None:
        return {"status": app.status}
    return {"total": money_str(figures.total), "tax": money_str(figures.tax),
            "status": app.status}


def _totals(name: str, data: Any, record: dict, qbo_id: str, entity: str, *, is_us: bool,
            authority: str) -> list[Found]:
    """Total and tax, compared as the push compares them after a write."""
    mine, theirs = app_figures(data, is_us=is_us), quickbooks_figures(record)
    if mine is None or theirs is None:
        return []
    # An invoice's balance is compared from its payments (below), not from the
    # adapter's figure; credit memos and refunds have none to compare.
    diff = compare(replace(mine, balance=None), theirs, record, data.lines, is_us=is_us,
                   authority=authority)
    if not diff:
        return []
    return [Found(Kind.TOTALS, f"{name}: {diff['message']}", diff["app"], diff["quickbooks"],
                  qbo_id, (PUSH, IGNORE), entity=entity)]


def _paid(app: AppInvoice, record: dict, qbo_id: str) -> list[Found]:
    name, open_there = _name(app), balance(record)
    if app.status == "paid" and open_there > ZERO:
        unsent = [p for p in app.payments if p.pushed and not p.qbo_id]
        return [Found(Kind.PAID_IN_APP, f"{name} is paid in the app but QuickBooks has "
                      f"{money_str(open_there)} open"
                      + (f"; {len(unsent)} app payment(s) never reached QuickBooks."
                         if unsent else "; the app recorded no payment for it."),
                      {"status": "paid"}, _figures(record), qbo_id, (PUSH, IGNORE))]
    if is_paid(record) and app.status != "paid":
        return [Found(Kind.PAID_IN_QBO, f"{name} is fully paid in QuickBooks but {app.status}"
                      " in the app.", {"status": app.status}, _figures(record), qbo_id,
                      (ACCEPT, IGNORE), safe=ACCEPT)]
    return []


def _payments(app: AppInvoice, record: dict, qbo_id: str) -> list[Found]:
    out: list[Found] = []
    there = _qbo_payment_ids(record)
    for pay in app.payments:
        if pay.pushed and pay.qbo_id not in there:
            where = f"QuickBooks payment {pay.qbo_id} no longer applies to it" if pay.qbo_id \
                else "it never reached QuickBooks"
            out.append(Found(Kind.PAYMENT_NOT_IN_QBO, f"{_name(app)}: the app's payment of "
                             f"{money_str(pay.amount)} is not in QuickBooks ({where}).",
                             {"amount": money_str(pay.amount)}, {"payments": there}, pay.qbo_id,
                             # Never sent: pushing it is safe. Sent, and no longer there:
                             # a person checks first (it may be unapplied credit now).
                             (PUSH, IGNORE), safe="" if pay.qbo_id else PUSH,
                             entity="payment", payment_key=pay.key))
    known = {p.qbo_id for p in app.payments if p.qbo_id}
    app_paid = sum((p.amount for p in app.payments), ZERO)
    qbo_paid = _paid_in_qbo(record)
    unknown = [i for i in there if i not in known]
    if qbo_paid > app_paid and unknown:
        out.append(Found(Kind.PAYMENT_NOT_IN_APP, f"{_name(app)}: QuickBooks has "
                         f"{money_str(qbo_paid)} paid, the app {money_str(app_paid)}; "
                         f"QuickBooks payment(s) {', '.join(unknown)} are not in the app.",
                         {"paid": money_str(app_paid)},
                         {"paid": money_str(qbo_paid), "payments": unknown}, qbo_id,
                         (ACCEPT, IGNORE), safe=ACCEPT))
    return out


def unlinked_difference(app: AppInvoice, record: dict) -> Found:
    """An app invoice with no link, and a QuickBooks invoice under its number."""
    same_total = app.data is not None and (
        (figures := app_figures(app.data)) is not None
        and Decimal(str(record.get("TotalAmt") or 0)) == figures.total)
    note = ("same total: probably the app's own invoice, created before a link was kept"
            if same_total else "a different total: a duplicate, or another invoice")
    return Found(Kind.UNLINKED, f"{_name(app)} has no link, but QuickBooks invoice "
                 f"{record.get('Id')} carries its number ({note}).", {"number": app.number},
                 {"number": record.get("DocNumber"), **_figures(record)},
                 str(record.get("Id")), (LINK, IGNORE), safe=LINK if same_total else "")


# Credit memos, refund receipts and customers --------------------------------------------


@dataclass(frozen=True)
class AppRecord:
    """The app's side of a linked credit memo, refund or contact."""

    kind: str  # credit_memo | refund | contact
    key: str
    label: str  # "credit memo CM-0001", "contact 'Northwind'"
    #: CreditMemoData / RefundData; None for contacts and deleted rows.
    data: Any = None
    exists: bool = True
    active: bool = True  # contacts
    customer_qbo_id: str = ""
    last_payload: dict[str, Any] = field(default_factory=dict)


def record_differences(app: AppRecord, record: dict | None, qbo_id: str, *,
                       is_us: bool = True, authority: str = "app") -> list[Found]:
    """What differs for a credit memo, refund receipt or customer."""
    name = app.label[:1].upper() + app.label[1:]
    if not app.exists:
        return []  # deleted in the app: the delete's own push settles QuickBooks
    if record is None:
        return [Found(Kind.MISSING, f"{name} is no longer in QuickBooks (Id {qbo_id}): it "
                      "was deleted or merged there.", {"exists": True}, {"exists": False},
                      qbo_id, (PUSH, IGNORE), entity=app.kind)]
    out: list[Found] = []
    if app.kind == "contact":
        if record.get("Active") is False and app.active:
            out.append(Found(Kind.INACTIVE, f"{name}'s customer was made inactive in "
                             "QuickBooks; the contact is active in the app.",
                             {"active": True}, {"active": False}, qbo_id, (PUSH, IGNORE),
                             entity=app.kind))
        edited = differences(app.last_payload, record, customer=True) \
            if app.last_payload else []
        if edited:
            out.append(Found(Kind.EDITED, f"{name}'s customer was edited in QuickBooks: "
                             + "; ".join(edited) + ".", {"fields": len(edited)},
                             {"fields": len(edited)}, qbo_id, (PUSH, IGNORE),
                             entity=app.kind))
        return out
    theirs = str((record.get("CustomerRef") or {}).get("value") or "")
    if app.customer_qbo_id and theirs and theirs != app.customer_qbo_id:
        out.append(Found(Kind.CUSTOMER, f"{name} is for QuickBooks customer {theirs}; the "
                         f"app's contact is customer {app.customer_qbo_id}.",
                         {"customer": app.customer_qbo_id}, {"customer": theirs}, qbo_id,
                         (PUSH, IGNORE), entity=app.kind))
    edited = [d for d in differences(app.last_payload, record)
              if not d.startswith("CustomerRef")] if app.last_payload else []
    if edited:
        out.append(Found(Kind.EDITED, f"{name} was edited in QuickBooks: " + "; ".join(edited)
                         + ".", {}, _figures(record), qbo_id, (PUSH, IGNORE),
                         entity=app.kind))
    elif app.data is not None:
        out += _totals(name, app.data, record, qbo_id, app.kind, is_us=is_us,
                       authority=authority)
    return out
