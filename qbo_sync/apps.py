from django.apps import AppConfig


class QBOSyncConfig(AppConfig):
    name = "qbo_sync"
    verbose_name = "QuickBooks Online sync"
    # Explicit, so the host's DEFAULT_AUTO_FIELD never creates phantom migrations.
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Here, not at the top: both need the app registry, which is ready only now.
        from . import checks, receivers  # noqa: F401  (importing checks registers them)

        receivers.connect()
        # Registers the database storage of the call budget with ``limits``.
        from .sync import budget  # noqa: F401
