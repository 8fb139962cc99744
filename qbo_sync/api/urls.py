"""The QuickBooks REST API a host mounts, e.g.
``path("api/integrations/quickbooks/", include("qbo_sync.api.urls"))``."""

from django.urls import path, register_converter

from . import imports, metrics, reconcile, sync_views, views
from .base import AnyId

# Any path segment reaches the view, so an id that is not a number (or is out of range)
# is a JSON 404 with a message, not the host's HTML "page not found".
register_converter(AnyId, "anyid")

app_name = "qbo_sync_api"

urlpatterns = [
    path("connect", views.ConnectView.as_view(), name="connect"),
    path("callback", views.CallbackView.as_view(), name="callback"),
    path("status", views.StatusView.as_view(), name="status"),
    path("metrics", metrics.MetricsView.as_view(), name="metrics"),
    path("disconnect", views.DisconnectView.as_view(), name="disconnect"),
    path("settings", views.SettingsView.as_view(), name="settings"),
    path("items", views.ItemsView.as_view(), name="items"),
    path("tax-codes", views.TaxCodesView.as_view(), name="tax-codes"),
    path("accounts", views.AccountsView.as_view(), name="accounts"),
    path("mappings/items", views.ItemMappingsView.as_view(), name="item-mappings"),
    path("mappings/taxes", views.TaxMappingsView.as_view(), name="tax-mappings"),
    path("sync/contacts", sync_views.HistoricalSyncView.as_view(kind="contacts"),
         name="sync-contacts"),
    path("sync/invoices", sync_views.HistoricalSyncView.as_view(kind="invoices"),
         name="sync-invoices"),
    path("sync/runs/<anyid:pk>", sync_views.HistoricalRunView.as_view(), name="sync-run"),
    path("reconcile", reconcile.ReconcileView.as_view(), name="reconcile"),
    path("reconcile/runs/<anyid:pk>", reconcile.ReconcileRunView.as_view(),
         name="reconcile-run"),
    path("reconcile/runs/<anyid:pk>/differences", reconcile.DifferenceListView.as_view(),
         name="reconcile-differences"),
    path("reconcile/differences/<anyid:pk>/repair", reconcile.DifferenceRepairView.as_view(),
         name="reconcile-repair"),
    path("import/customers", imports.ImportCustomersView.as_view(), name="import-customers"),
    path("import/runs/<anyid:pk>", imports.ImportRunView.as_view(), name="import-run"),
    path("sync-logs", sync_views.SyncLogListView.as_view(), name="sync-logs"),
    path("sync-logs/<anyid:pk>", sync_views.SyncLogDetailView.as_view(), name="sync-log"),
    path("sync-logs/<anyid:pk>/retry", sync_views.SyncLogRetryView.as_view(),
         name="sync-log-retry"),
]
