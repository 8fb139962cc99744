"""An invoice that bills time entries marks them billed once it is in QuickBooks: the
time entry adapter records it in the app (``mark_billed``), and that save pushes each
TimeActivity again with BillableStatus HasBeenBilled (docs/qbo-rules.md §5.10)."""

from __future__ import annotations

import logging
from typing import Any

from ..adapters import get_adapter
from ..sync.job import JobRun

logger = logging.getLogger("qbo_sync.push")


def bill_time_entries(run: JobRun, invoice: Any) -> int:
    """Mark the invoice's not yet billed time entries billed; returns how many."""
    adapter = get_adapter("time_entry")
    if adapter is None:
        return 0
    done, failed = 0, []
    for entry in adapter.billed_by(invoice):
        if adapter.to_data(entry).billed:
            continue
        try:
            adapter.mark_billed(entry, invoice=invoice)
        except Exception as err:  # noqa: BLE001 - the invoice is in QBO; report, go on
            logger.exception("marking time entry %s billed failed", entry.pk)
            failed.append(f"{entry.pk} ({err.__class__.__name__}: {err})")
            continue
        done += 1
    if done:
        run.note(f"Marked {done} time entr{'y' if done == 1 else 'ies'} billed by this "
                 "invoice; their QuickBooks time activities follow as HasBeenBilled.")
    if failed:
        run.note("Could not mark these time entries billed: " + ", ".join(failed)
                 + "; mark them billed in the app by hand.")
    return done
