"""The one place that reads the host's ``QBO_SYNC`` settings dict.

Every key is documented in README.md ("Settings"). Values are read lazily on each
access, so ``override_settings(QBO_SYNC={...})`` works in tests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .exceptions import ConfigurationError

#: QBO's production and sandbox hosts (reference docs/qbo-rules.md §1.1, §2.1).
ENVIRONMENTS: dict[str, dict[str, str]] = {
    "production": {
        "api_base": "https://quickbooks.api.intuit.com",
        "authorize_url": "https://appcenter.intuit.com/connect/oauth2",
        "token_url": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        "revoke_url": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    },
    "sandbox": {
        "api_base": "https://sandbox-quickbooks.api.intuit.com",
        "authorize_url": "https://appcenter.intuit.com/connect/oauth2",
        "token_url": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        "revoke_url": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    },
}

#: Minor versions below 75 are ignored by QBO since 2025-08-01 (docs/qbo-rules.md §2.3).
MIN_MINOR_VERSION = 75
#: QBO's minor versions count up by a few a year (75 in 2025, about ten years after 1), so
#: 999 leaves centuries of room; a larger number is a typo. The bound also keeps the value
#: inside every database's integer column (``Connection.minor_version``; PostgreSQL
#: refuses 2^31 with an error, SQLite would store it).
MAX_MINOR_VERSION = 999


def minor_version_error(value: Any) -> str:
    """What is wrong with ``value`` as a minor version, or "" when QBO honours it.

    The one place this rule lives: the system check, the settings service (and so the
    admin form and the API) and the client all ask here.
    """
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return (f"must be a whole number from {MIN_MINOR_VERSION} to {MAX_MINOR_VERSION} "
                f"(got {value!r}).")
    if number < MIN_MINOR_VERSION:
        return (f"must be {MIN_MINOR_VERSION} or higher: QuickBooks ignores older minor "
                f"versions (got {number}).")
    if number > MAX_MINOR_VERSION:
        return (f"must be {MAX_MINOR_VERSION} or lower: no QuickBooks minor version is "
                f"that high (got {number}); use {MIN_MINOR_VERSION} unless a newer one "
                "is needed.")
    return ""


def retention_problems(value: Any) -> list[str]:
    """What is wrong with ``RETENTION_DAYS`` (merged with the defaults), one line per
    problem; empty when every kind is kept a whole, positive number of days.

    The one place this rule lives: the system check (qbo_sync.E008) and the prune
    service both ask here.
    """
    if not isinstance(value, Mapping):
        return [f"must be a dict of kind → days (got {value!r})."]
    kinds = ", ".join(DEFAULTS["RETENTION_DAYS"])
    problems = [f"has an unknown kind {key!r}: the kinds are {kinds}."
                for key in value if key not in DEFAULTS["RETENTION_DAYS"]]
    for key in DEFAULTS["RETENTION_DAYS"]:
        days = value.get(key)
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            problems.append(f"[{key!r}] must be a whole number of days, 1 or more "
                            f"(got {days!r}).")
    return problems


def effective_minor_version(configured: Any = None) -> int:
    """The ``minorversion`` to send: ``configured`` (a connection's) or the setting,
    never below :data:`MIN_MINOR_VERSION`."""
    value = configured or app_settings.MINOR_VERSION
    try:
        return max(int(value), MIN_MINOR_VERSION)
    except (TypeError, ValueError):
        return MIN_MINOR_VERSION

DEFAULTS: dict[str, Any] = {
    # "simulator" | "sandbox" | "production"
    "ENVIRONMENT": "simulator",
    # Base URL of the QBO simulator when ENVIRONMENT is "simulator".
    "SIMULATOR_URL": "http://127.0.0.1:8765",
    "CLIENT_ID": "",
    "CLIENT_SECRET": "",
    # Absolute URL Intuit redirects back to; None builds it from the request.
    "REDIRECT_URI": None,
    "SCOPES": ["com.intuit.quickbooks.accounting"],
    "MINOR_VERSION": 75,
    # Seconds: (connect, read).
    "TIMEOUT": (5, 60),
    # Refresh the access token when it has less than this many seconds left.
    "REFRESH_MARGIN": 300,
    # How long an OAuth state value stays valid, in seconds.
    "STATE_TTL": 600,
    # Dotted paths of the host's adapters, by kind.
    "ADAPTERS": {},
    # Callable (dotted path) request -> workspace key (str). Default: "default".
    "WORKSPACE_RESOLVER": "qbo_sync.permissions.default_workspace",
    # Callable (dotted path) (user, workspace) -> bool. Default: staff users.
    "PERMISSION_CHECK": "qbo_sync.permissions.default_permission",
    # Where to send the browser after the OAuth callback (a URL or URL name).
    "CONNECT_DONE_URL": "/admin/qbo_sync/connection/",
    # Pull catch-up period in minutes.
    "POLL_INTERVAL_MINUTES": 10,
    # What deleting a synced invoice in the app does in QuickBooks: "void" it, "delete"
    # it, or "keep" it (reconciliation then reports it).
    "INVOICE_DELETE": "void",
    # An invoice marked paid in the app without payment records for all of it: "push" a
    # payment for the rest (the invoice adapter's settlement_of gives its date and
    # method), or "report" it (reconciliation's paid_in_app).
    "PAID_WITHOUT_PAYMENT": "push",
    # Hours between scheduled reconciliations of every connection (0: none scheduled).
    "RECONCILE_INTERVAL_HOURS": 24,
    # Customer edits made in QuickBooks (name, email, phone, address) come into the app
    # through the contact adapter's update_contact hook (off: the app owns its contacts).
    "PULL_CUSTOMER_CHANGES": False,
    # How a customer import matches QuickBooks customers to contacts when the caller
    # names no rule: "email", "name", or "both" (email, then display name).
    "IMPORT_MATCH": "both",
    "RETRY": {"AUTO_RETRIES": 3, "BASE_DELAY": 60, "MAX_ATTEMPTS": 5},
    "WEBHOOK_VERIFIER_TOKEN": "",
    "WEBHOOKS_ENABLED": False,
    # Largest webhook body accepted, in bytes; larger ones are answered 413 unread.
    # Intuit's notifications carry only ids (docs/qbo-rules.md §7.2, §7.3).
    "WEBHOOK_MAX_BYTES": 1024 * 1024,
    # Days each kind of record is kept before qbo_sync_prune (daily) removes it.
    "RETENTION_DAYS": {"webhook_events": 30, "seen_events": 90, "job_payloads": 90,
                       "attempts": 90},
    # A running job whose worker has not finished after this many seconds is taken
    # to be dead and is picked up again by the sweeper.
    "JOB_LEASE_SECONDS": 300,
    # How often the sweeper looks for due and abandoned jobs, in minutes.
    "SWEEP_INTERVAL_MINUTES": 1,
    # Re-read CompanyInfo/Preferences when older than this many seconds.
    "CAPABILITIES_MAX_AGE": 86400,
    # Items / tax codes / accounts lists shown in the settings screens, cached seconds.
    "LISTS_CACHE_SECONDS": 3600,
    # Client-side budget per realm (docs/qbo-rules.md §3). With a Redis RATE_LIMIT_CACHE
    # it lives there (the in-flight count in that cache), else in the database.
    "RATE_LIMIT_ENABLED": True,
    "RATE_LIMIT_CACHE": "default",
    # A ``limits`` storage URI for the sliding-minute budgets ("redis://host:6379/2"); None
    # uses the Redis of RATE_LIMIT_CACHE when it is one, else the database
    # ("qbo-sync-db://default", shared by every worker process on the embedded default).
    "RATE_LIMIT_STORAGE": None,
    "RATE_LIMIT_PER_MINUTE": 450,
    "MAX_CONCURRENT": 10,
    # Seconds a call may wait for budget to free; past that its job is rescheduled for the
    # moment it frees and the worker moves on to other jobs.
    "RATE_LIMIT_MAX_WAIT": 1,
    # Metrics (README, "Metrics"): metered QuickBooks reads allowed a month per company;
    # 500,000 is Intuit's free Builder tier (docs/qbo-rules.md §3.1).
    "METERED_READS_PER_MONTH": 500_000,
    # The Prometheus scrape endpoint (qbo_sync.urls "metrics/"): off unless enabled, and
    # then only for requests bearing PROMETHEUS_TOKEN.
    "PROMETHEUS_ENABLED": False,
    "PROMETHEUS_TOKEN": "",
    # Alerts that reach a person (qbo_sync.alerts; README "Alerts"). Keys left out keep
    # these defaults; qbo_sync.alerts.config validates them (system check qbo_sync.E012).
    "ALERTS": {
        "ENABLED": True,
        "RULES": ["failure_rate", "failed_unresolved", "reconnect", "token_chain",
                  "read_budget", "reconciliation"],
        "INTERVAL_MINUTES": 5,
        "REPEAT_HOURS": 24,
        # The condition must stay clear this long before "resolved" is sent (flapping).
        "RESOLVE_AFTER_MINUTES": 15,
        "DIGEST": False,
        "NOTIFIERS": ["qbo_sync.alerts.notifiers.EmailNotifier",
                      "qbo_sync.alerts.notifiers.WebhookNotifier"],
        "RECIPIENTS": "qbo_sync.alerts.recipients.workspace_managers",
        "SECRET_WEBHOOK_URL": "",
        "WEBHOOK_TIMEOUT": 5,
        "FAILURE_RATE_PERCENT": 20,
        "FAILURE_RATE_WINDOW_MINUTES": 60,
        "FAILURE_RATE_MIN_JOBS": 10,
        "FAILED_UNRESOLVED_MINUTES": 60,
        "TOKEN_CHAIN_DAYS": 30,
        # None: METERED_READS_PER_MONTH, the budget the metrics report against.
        "READ_BUDGET": None,
        "READ_BUDGET_PERCENT": 80,
        # Dotted path (workspace, since) -> int: successful metered reads since then.
        # The default counts the calls the app recorded (qbo_sync.metrics).
        "READ_COUNT": "qbo_sync.metrics.compute.reads_since",
        # Opt-in notices of new records, per workspace: {"acme": ["invoice_created",
        # "payment_received"]} (qbo_sync.alerts.notices). None by default.
        "RECORD_NOTICES": {},
    },
    # Due push jobs of one connection a worker claims together; their creates go as
    # QBO /batch calls of up to 30 items (sync/batch.py). 1 sends every job alone.
    "BATCH_SIZE": 30,
}


class Settings:
    """Lazy view over ``settings.QBO_SYNC`` merged with :data:`DEFAULTS`."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] | None = None

    @property
    def user_settings(self) -> dict[str, Any]:
        if self._cache is None:
            self._cache = dict(getattr(django_settings, "QBO_SYNC", None) or {})
        return self._cache

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown QBO_SYNC setting {name!r}")
        value = self.user_settings.get(name, DEFAULTS[name])
        if name in ("RETRY", "RETENTION_DAYS", "ALERTS"):
            value = value or {}
            # Not a dict: returned as is for the system check to name (qbo_sync.E008).
            value = {**DEFAULTS[name], **value} if isinstance(value, Mapping) else value
        return value

    def reload(self) -> None:
        self._cache = None

    # Derived values -------------------------------------------------------

    def endpoints(self) -> dict[str, str]:
        """API base and OAuth URLs for the configured environment."""
        env = self.ENVIRONMENT
        if env == "simulator":
            base = self.SIMULATOR_URL.rstrip("/")
            return {
                "api_base": base,
                "authorize_url": f"{base}/connect/oauth2",
                "token_url": f"{base}/oauth2/v1/tokens/bearer",
                "revoke_url": f"{base}/v2/oauth2/tokens/revoke",
            }
        if env not in ENVIRONMENTS:
            raise ConfigurationError(
                f"QBO_SYNC['ENVIRONMENT'] is {env!r}: set it to 'simulator', 'sandbox' "
                "or 'production'."
            )
        return ENVIRONMENTS[env]

    def callable(self, name: str) -> Any:
        value = getattr(self, name)
        return import_string(value) if isinstance(value, str) else value


app_settings = Settings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "QBO_SYNC":
        app_settings.reload()


setting_changed.connect(_reload, dispatch_uid="qbo_sync.conf.reload")
