"""qbo_sync's public signals, for the host to hook notifications on.

(Host-model handlers that write sync jobs live in ``receivers.py``.)
"""

from django.dispatch import Signal

#: A push or pull job finished. kwargs: ``job`` (SyncJob), ``qbo_id`` (str).
sync_succeeded = Signal()

#: A job failed and will not retry by itself. kwargs: ``job`` (SyncJob),
#: ``error`` (QBOSyncError) — ``error.fix`` says what the user should do.
sync_failed = Signal()

#: A write succeeded but QuickBooks' figures differ from the app's. kwargs: ``job``
#: (SyncJob), ``obj`` (host document), ``totals`` (dict: ``app``, ``quickbooks``,
#: ``difference``, ``cause``, ``fix``).
totals_mismatch = Signal()

#: An invoice was created or updated in QBO. kwargs: ``job``, ``obj`` (host invoice),
#: ``qbo_id``.
invoice_synced = Signal()

#: QBO says a linked invoice is fully paid. kwargs: ``connection``, ``obj`` (host
#: invoice), ``qbo_invoice`` (dict).
invoice_paid_in_qbo = Signal()

#: The connection needs a person to reconnect. kwargs: ``connection``, ``reason`` (str).
connection_needs_reconnect = Signal()

#: A reconciliation run found differences. kwargs: ``run`` (ReconciliationRun),
#: ``connection``, ``counts`` (dict: kind → number, ignored ones left out).
reconciliation_found = Signal()
