"""After every document write: does QuickBooks store the app's figures?

The write's own response carries ``TotalAmt``, ``TxnTaxDetail.TotalTax`` and
``Balance`` (docs/qbo-rules.md §5.2), so the check costs no extra call. A difference
ends the job "Succeeded, totals differ" (amber in Sync Health) and sends
``signals.totals_mismatch``.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from .. import signals
from ..adapters import get_adapter
from ..mapping.totals import app_figures, compare, quickbooks_figures
from ..models import SyncJob
from ..sync import links
from ..sync.job import JobRun
from .context import context


def unpushed_payments(run: JobRun, invoice: Any) -> Decimal:
    """What the app has received against ``invoice`` that QuickBooks has not yet:
    app payments still waiting for their own push."""
    pay_adapter = get_adapter("payment")
    total = Decimal("0.00")
    if pay_adapter is None:
        return total
    for payment in run.adapter.payments_of(invoice):
        if not pay_adapter.should_sync(payment):
            continue  # it came from QuickBooks, so it is applied there already
        link = links.find_link(run.connection, payment)
        if link is None or not link.qbo_id:
            total += pay_adapter.to_data(payment).amount
    return total


def check_totals(run: JobRun, data: Any, *, unpushed: Decimal = Decimal(0)) -> dict:
    """Compare the app's figures for ``data`` with the last write's response.

    ``unpushed``: payments the app has that QuickBooks cannot know yet; QuickBooks'
    balance is expected to be that much higher. Returns the difference (``{}`` if none)
    and records it on ``run``.
    """
    obj = run.written
    if not obj:
        return {}
    ctx = context(run)
    app = app_figures(data, is_us=ctx.is_us)
    qbo = quickbooks_figures(obj)
    if app is None or qbo is None:
        run.note("Totals not checked: the app states no tax figure and its tax rates are "
                 "not numbers.")
        return {}
    if app.balance is not None:
        app = replace(app, balance=app.balance + unpushed)
    result = compare(app, qbo, obj, data.lines, is_us=ctx.is_us, authority=ctx.tax_authority)
    if result:
        run.totals = result
        signals.totals_mismatch.send(sender=SyncJob, job=run.job, obj=run.obj, totals=result)
    return result
