"""qbo_sync's Django admin: connections and settings, Sync Health, manual syncs,
reconciliation runs and their differences, customer imports, webhook deliveries (and the daily
counts of refused ones) and the settings audit trail.
Importing this package registers every screen with ``django.contrib.admin.site``."""

from .connection import ConnectionAdmin
from .health import SyncJobAdmin
from .imports import ImportRunAdmin
from .reconcile import DifferenceAdmin, ReconciliationRunAdmin
from .records import SettingsChangeAdmin, WebhookEventAdmin, WebhookRejectionAdmin
from .runs import HistoricalRunAdmin

__all__ = ["ConnectionAdmin", "DifferenceAdmin", "HistoricalRunAdmin", "ImportRunAdmin",
           "ReconciliationRunAdmin", "SettingsChangeAdmin", "SyncJobAdmin",
           "WebhookEventAdmin", "WebhookRejectionAdmin"]
