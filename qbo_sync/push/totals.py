"""After every document write: does QuickBooks store the app's figures?

The write's own response carries ``TotalAmt``, ``TxnTaxDetail.TotalTax`` and
``Balance`` (docs/qbo-rules.md §5.2), so the check costs no extra call. A difference
ends the job "Succeeded, totals differ" (amber in Sync Health) and sends
``signals.totals_mismatch``; a difference within the connection's rounding tolerance is
first posted to its Rounding item.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from .. import signals
from ..adapters import get_adapter
from ..mapping import MappingContext, content_hash
from ..mapping.totals import app_figures, compare, quickbooks_figures, rounding_adjusted
from ..models import EntityLink, SyncJob
from ..sync import links
from ..sync.job import JobRun
from .context import context
from .write import update_transaction


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
    run.totals = {}
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
    run.totals = compare(app, qbo, obj, data.lines, is_us=ctx.is_us,
                         authority=ctx.tax_authority)
    return run.totals


def settle_totals(run: JobRun, link: EntityLink, entity: str, payload: dict, data: Any, *,
                  unpushed: Decimal = Decimal(0)) -> None:
    """Check the write; post a difference within the rounding tolerance to the Rounding
    item (one more write); report what is left (``signals.totals_mismatch``)."""
    result = check_totals(run, data, unpushed=unpushed)
    gap = _rounding_gap(run, result)
    if gap:
        adjusted = rounding_adjusted(payload, gap, item_id=run.connection.rounding_item_id,
                                     tax_code=_zero_rate_code(context(run)))
        update_transaction(run, link, entity, adjusted)
        # Unchanged detection compares what the app would send, not the adjusted body.
        link.content_hash = content_hash(payload)
        link.save(update_fields=["content_hash", "updated_at"])
        run.note(f"Rounding: {gap:.2f} posted to the Rounding item so QuickBooks' total is "
                 "the app's.")
        result = check_totals(run, data, unpushed=unpushed)
        if set(result.get("difference", {})) <= {"tax"}:
            # The total agrees now; the rounding line carries the tax cents.
            run.totals = result = {}
    if result:
        signals.totals_mismatch.send(sender=SyncJob, job=run.job, obj=run.obj, totals=result)


def _zero_rate_code(ctx: MappingContext) -> str | None:
    if ctx.is_us:
        return "NON"
    for key, code in ctx.tax_map.items():
        try:
            if Decimal(key.strip().rstrip("%")) == 0:
                return code
        except ArithmeticError:
            continue
    return None


def _rounding_gap(run: JobRun, result: dict) -> Decimal:
    """The total difference to post as rounding, or 0 when the rule does not apply."""
    conn = run.connection
    if not result or "total" not in result["difference"] or not conn.rounding_tolerance:
        return Decimal(0)
    gap = Decimal(result["app"]["total"]) - Decimal(result["quickbooks"]["total"])
    if abs(gap) > conn.rounding_tolerance:
        return Decimal(0)
    if not conn.rounding_item_id:
        run.note("The difference is within the rounding tolerance, but no Rounding item is "
                 "set: Settings → Rounding item.")
        return Decimal(0)
    if _zero_rate_code(context(run)) is None:
        run.note("The difference is within the rounding tolerance, but no 0 % tax rate is "
                 "mapped for the rounding line: Settings → Tax mappings.")
        return Decimal(0)
    return gap
