"""An invoice marked paid in the app without payment records for all of it: a payment
for the unrecorded part is pushed, once, on the date and method the invoice adapter
gives (``InvoiceAdapter.settlement_of``). With ``PAID_WITHOUT_PAYMENT = "report"``, or
an adapter without the hook, nothing is pushed and reconciliation reports it
(``paid_in_app``; docs/reconciliation.md).

The payment is the invoice's own: its link hangs off the invoice with variant
:data:`VARIANT`, and its marker is ``settle <invoice key>``, so a retry after a lost
answer finds it instead of paying twice (docs/architecture.md, invariant 2).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .. import mapping
from ..adapters import InvoiceAdapter, get_adapter
from ..conf import app_settings
from ..data import PaymentData
from ..mapping.totals import app_figures
from ..models import JobAction
from ..qbo.records import balance
from ..sync import links
from ..sync.job import JobRun, Skip
from .context import context, with_marker

VARIANT = "settle"
ZERO = Decimal("0.00")


def can_settle(adapter: Any) -> bool:
    """Whether paid-without-payment invoices get a payment pushed."""
    if str(app_settings.PAID_WITHOUT_PAYMENT) != "push":
        return False
    hook = getattr(type(adapter), "settlement_of", None)
    return hook is not None and hook is not InvoiceAdapter.settlement_of


def unrecorded(adapter: Any, obj: Any) -> Decimal:
    """What the app's payment records leave of the invoice's total."""
    data = adapter.to_data(obj)
    figures = app_figures(data)
    if figures is None:
        return ZERO
    pay_adapter = get_adapter("payment")
    paid = sum((pay_adapter.to_data(p).amount for p in adapter.payments_of(obj)), ZERO) \
        if pay_adapter else ZERO
    return max(figures.total - paid, ZERO)


def settle_invoice(run: JobRun, invoice_link: Any, push_invoice_first: Callable[[], Any],
                   create: Callable[..., str]) -> str | None:
    """Push the payment for the part of a paid invoice no payment record covers.
    ``create(run, link, entity, payload, customer_id, kind, key)`` is the push's
    create-exactly-once path."""
    inv, adapter, conn = run.obj, run.adapter, run.connection
    run.job.action = JobAction.SETTLE
    if adapter.status_of(inv) != "paid":
        raise Skip("The invoice is no longer paid in the app; nothing to record.")
    if not can_settle(adapter):
        raise Skip("Paid-without-payment invoices are reported, not pushed "
                   "(PAID_WITHOUT_PAYMENT, or the invoice adapter has no settlement_of).")
    link = links.find_link(conn, inv, VARIANT)
    if link is not None and link.qbo_id:
        raise Skip(f"Its payment is already in QuickBooks (Payment {link.qbo_id}).")
    amount = unrecorded(adapter, inv)
    if amount <= ZERO:
        raise Skip("Its payment records cover the invoice; they are pushed on their own.")
    if invoice_link is None or not invoice_link.qbo_id:
        invoice_link = push_invoice_first()
    open_there = balance(run.client.read("Invoice", invoice_link.qbo_id))
    amount = min(amount, open_there)
    if amount <= ZERO:
        raise Skip("QuickBooks has nothing open on the invoice.")
    when = adapter.settlement_of(inv)
    data = adapter.to_data(inv)
    payment = PaymentData(key=f"{data.key}", workspace=data.workspace, invoice_key=data.key,
                          contact_key=data.contact_key, amount=amount, date=when.date,
                          currency=data.currency, method=when.method,
                          reference=when.reference)
    ctx = context(run)
    customer_id = (invoice_link.last_payload.get("CustomerRef") or {}).get("value", "")
    payload = with_marker(mapping.payment_payload(payment, ctx, customer_id=customer_id,
                                                  invoice_id=invoice_link.qbo_id,
                                                  invoice_currency=data.currency),
                          "settle", data.key)
    link = link or links.get_link(conn, inv, "Payment", VARIANT)
    qbo_id = create(run, link, "Payment", payload, customer_id, "settle", data.key)
    run.note(f"The invoice was marked paid in the app with {amount} not covered by a payment"
             f" record; pushed a payment of {amount} dated {when.date}.")
    return qbo_id
