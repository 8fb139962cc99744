"""Invoice, CreditMemo, RefundReceipt and Payment payloads (docs/qbo-rules.md §5.2–§5.5).

Every builder runs the preflight checks first and raises the combined problem
(``MappingError`` / ``ConfigurationError``) before producing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ..data import CreditMemoData, DocumentFigures, InvoiceData, LineData, PaymentData, RefundData
from ..exceptions import MappingError
from .context import MappingContext
from .lines import discount_payload, inclusive_split, sales_lines
from .preflight import (
    credit_memo_problems,
    describe,
    invoice_problems,
    payment_problems,
    refund_problems,
)
from .text import clip, problem, raise_if_any, single_line
from .totals import app_figures, tax_line_overrides

DOC_NUMBER_MAX = 21  # §5.2, §5.4, §5.5
PRIVATE_NOTE_MAX = 4000
CUSTOMER_MEMO_MAX = 1000
# §5.3 states no limit for Payment.PaymentRefNum; integrators cut it at 21, the same as
# DocNumber, so that is the limit used here. RefundReceipt documents 100 (§5.5).
PAYMENT_REF_MAX = 21
REFUND_REF_MAX = 100


def doc_number(number: str, ctx: MappingContext) -> tuple[str | None, str]:
    """``(DocNumber, note)`` for the number strategy.

    "qbo": no DocNumber, QBO numbers the record. "app": our number; when it is longer
    than 21 characters the *last* 21 are kept, because sequential numbers differ at the
    end and a cut head would make every invoice collide (6140). The full number then
    goes into the note, so it is still visible in QBO.
    """
    if ctx.number_strategy != "app":
        return None, ""
    number = single_line(number)
    if len(number) <= DOC_NUMBER_MAX:
        return number, ""
    return number[-DOC_NUMBER_MAX:].strip(), f"Full number: {number}"


def _note(*parts: str) -> str:
    return clip("\n".join(p.strip() for p in parts if p and p.strip()), PRIVATE_NOTE_MAX)


def _reference(value: str, limit: int, label: str) -> tuple[str, str]:
    """``(reference cut to limit, note keeping the full reference when cut)``."""
    value = single_line(value)
    if len(value) <= limit:
        return value, ""
    return value[:limit].rstrip(), f"Full {label}: {value}"


def _customer_ref(customer_id: str, what: str) -> dict[str, str]:
    if not (customer_id or "").strip():
        raise problem(
            MappingError,
            f"{what} has no QuickBooks customer yet",
            "sync the contact first, then retry",
        )
    return {"value": customer_id}


def _sales_transaction(
    *,
    what: str,
    number: str,
    customer_id: str,
    txn_date: date,
    currency: str,
    lines: Sequence[LineData],
    ctx: MappingContext,
    doc: DocumentFigures,
    exchange_rate: Decimal | None = None,
    memo: str = "",
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The parts Invoice, CreditMemo and RefundReceipt share."""
    payload: dict[str, Any] = {}
    doc_no, number_note = doc_number(number, ctx)
    if doc_no:
        payload["DocNumber"] = doc_no
    payload["TxnDate"] = txn_date.isoformat()
    payload["CustomerRef"] = _customer_ref(customer_id, what)
    split = inclusive_split(lines) if doc.prices_include_tax and not ctx.is_us else None
    payload["Line"] = sales_lines(lines, ctx, what=what, amounts=split[0] if split else None)
    discount_line = discount_payload(doc.discount, ctx, line_num=len(lines) + 1, what=what)
    if discount_line:
        payload["Line"].append(discount_line)
        if ctx.is_us:
            # US companies choose the order; the app's rule is tax after discount
            # unless it says otherwise (docs/qbo-rules.md §5.2 "Line types").
            payload["ApplyTaxAfterDiscount"] = doc.tax_after_discount
    if ctx.tax_authority == "app" and ctx.is_us:
        figures = app_figures(doc, is_us=True)
        if figures is not None:
            # AST would recompute from the customer's address; QBO honours a sent
            # TotalTax as an override (docs/qbo-rules.md §5.2 "Tax: US vs non-US").
            payload["TxnTaxDetail"] = {"TotalTax": figures.tax}
    elif ctx.tax_authority == "app":
        overrides = tax_line_overrides(doc, ctx)
        if overrides:
            payload["TxnTaxDetail"] = {"TaxLine": overrides}
    currency_code = ctx.currency_ref(currency, what)
    if currency_code:
        # CurrencyRef is required when multicurrency is on (§5.2, §5.4, §5.5).
        payload["CurrencyRef"] = {"value": currency_code}
        if exchange_rate is not None and currency_code != ctx.home_currency:
            payload["ExchangeRate"] = exchange_rate
            notes = (*notes, f"Exchange rate: {exchange_rate} {ctx.home_currency} per "
                             f"{currency_code}, set by the app for {txn_date.isoformat()}")
    if not ctx.is_us:
        # Required for non-US companies, not used by US ones (§5.2 header fields).
        payload["GlobalTaxCalculation"] = (
            "TaxInclusive" if doc.prices_include_tax else ctx.global_tax_calculation)
    note = _note(number_note, *notes)
    if note:
        payload["PrivateNote"] = note
    memo = clip((memo or "").strip(), CUSTOMER_MEMO_MAX)
    if memo:
        payload["CustomerMemo"] = {"value": memo}
    return payload


def invoice_payload(
    invoice: InvoiceData, ctx: MappingContext, *, customer_id: str
) -> dict[str, Any]:
    """The Invoice create body (full-update body once ``Id``/``SyncToken`` are added)."""
    raise_if_any(invoice_problems(invoice, ctx))
    payload = _sales_transaction(
        what=describe("Invoice", invoice.number, invoice.key),
        number=invoice.number,
        customer_id=customer_id,
        txn_date=invoice.issue_date,
        currency=invoice.currency,
        lines=invoice.lines,
        ctx=ctx,
        doc=invoice,
        exchange_rate=invoice.exchange_rate,
        memo=invoice.memo,
        notes=(invoice.private_note,),
    )
    if invoice.due_date:
        payload["DueDate"] = invoice.due_date.isoformat()
    return payload


def credit_memo_payload(
    memo: CreditMemoData, ctx: MappingContext, *, customer_id: str
) -> dict[str, Any]:
    """The CreditMemo create body (§5.4)."""
    raise_if_any(credit_memo_problems(memo, ctx))
    return _sales_transaction(
        what=describe("Credit note", memo.number, memo.key),
        number=memo.number,
        customer_id=customer_id,
        txn_date=memo.date,
        currency=memo.currency,
        lines=memo.lines,
        ctx=ctx,
        doc=memo,
        memo=memo.memo,
    )


def refund_receipt_payload(
    refund: RefundData, ctx: MappingContext, *, customer_id: str
) -> dict[str, Any]:
    """The RefundReceipt create body (§5.5): the refund is paid out of the Default
    Deposit Account (required by QBO)."""
    raise_if_any(refund_problems(refund, ctx))
    reference, reference_note = _reference(refund.reference, REFUND_REF_MAX, "reference")
    method_note = f"Refund method: {single_line(refund.method)}" if refund.method.strip() else ""
    payload = _sales_transaction(
        what=describe("Refund", refund.number, refund.key),
        number=refund.number,
        customer_id=customer_id,
        txn_date=refund.date,
        currency=refund.currency,
        lines=refund.lines,
        ctx=ctx,
        doc=refund,
        memo=refund.memo,
        notes=(method_note, reference_note),
    )
    payload["DepositToAccountRef"] = {"value": ctx.default_deposit_account_id}
    if reference:
        payload["PaymentRefNum"] = reference
    return payload


def payment_payload(
    payment: PaymentData,
    ctx: MappingContext,
    *,
    customer_id: str,
    invoice_id: str,
    invoice_currency: str | None = None,
) -> dict[str, Any]:
    """The Payment create body applying the whole amount to one invoice (§5.3)."""
    raise_if_any(payment_problems(payment, ctx, invoice_currency=invoice_currency))
    what = describe("Payment", "", payment.key)
    if not (invoice_id or "").strip():
        raise problem(
            MappingError, f"{what} has no QuickBooks invoice yet", "sync the invoice first"
        )
    payload: dict[str, Any] = {
        "TotalAmt": payment.amount,
        "TxnDate": payment.date.isoformat(),
        "CustomerRef": _customer_ref(customer_id, what),
        "Line": [
            {
                "Amount": payment.amount,
                "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}],
            }
        ],
        "DepositToAccountRef": {"value": ctx.default_deposit_account_id},
    }
    if ctx.ar_account_id:
        # Payment takes the A/R account it clears (docs/qbo-rules.md §5.3); QBO's Invoice
        # has no such field and posts to the company's A/R account (§5.2).
        payload["ARAccountRef"] = {"value": ctx.ar_account_id}
    reference, reference_note = _reference(payment.reference, PAYMENT_REF_MAX, "reference")
    if reference:
        payload["PaymentRefNum"] = reference
    # PaymentMethodRef needs a QBO PaymentMethod Id we do not map; the note keeps it.
    method_note = f"Payment method: {single_line(payment.method)}" if payment.method.strip() else ""
    note = _note(method_note, reference_note)
    if note:
        payload["PrivateNote"] = note
    currency_code = ctx.currency_ref(payment.currency, what)
    if currency_code:
        payload["CurrencyRef"] = {"value": currency_code}
    return payload
