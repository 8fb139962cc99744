from django.apps import AppConfig


class QBOSyncConfig(AppConfig):
    name = "qbo_sync"
    verbose_name = "QuickBooks Online sync"
    # Explicit, so the host's DEFAULT_AUTO_FIELD never creates phantom migrations.
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at the top: both need the app registry, which is ready only now.
        from . import checks, receivers, signals  # noqa: F401  (importing checks registers them)
        from .alerts import notices  # the receiver of record notices, wired like receivers

        receivers.connect()
        signals.sync_succeeded.connect(notices.on_sync_succeeded,
                                       dispatch_uid="qbo_sync.alerts.notices")
        # Registers the database storage of the call budget with ``limits``.
        from .sync import budget  # noqa: F401
