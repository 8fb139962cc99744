"""qbo_sync's Django admin: connections and settings, Sync Health, manual syncs,
reconciliation runs and their differences, customer imports, webhook deliveries (and the
daily counts of refused ones), the settings audit trail and alerts.
Importing this package registers every screen with ``django.contrib.admin.site``."""

from .alerts import AlertStateAdmin
from .connection import ConnectionAdmin
from .health import SyncJobAdmin
from .imports import ImportRunAdmin
from .reconcile import DifferenceAdmin, ReconciliationRunAdmin
from .records import SettingsChangeAdmin, WebhookEventAdmin, WebhookRejectionAdmin
from .runs import HistoricalRunAdmin
from .versions import MappingVersionAdmin

__all__ = ["AlertStateAdmin", "ConnectionAdmin", "DifferenceAdmin", "HistoricalRunAdmin",
           "ImportRunAdmin", "MappingVersionAdmin",
           "ReconciliationRunAdmin", "SettingsChangeAdmin", "SyncJobAdmin",
           "WebhookEventAdmin", "WebhookRejectionAdmin"]
