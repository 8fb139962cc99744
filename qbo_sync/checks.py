"""Django system checks for misconfiguration (ids ``qbo_sync.E001``…, ``W001``…).

Each message names the setting to change. Run ``python manage.py check --database
default`` to include the checks that read the database (the encryption canary).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import storage_from_string

from .adapters import KINDS, get_adapter
from .alerts.config import problems as alert_problems
from .conf import (
    ENVIRONMENTS,
    MAX_MINOR_VERSION,
    MIN_MINOR_VERSION,
    app_settings,
    minor_version_error,
    retention_problems,
)
from .exceptions import ConfigurationError
from .models import KEY_CANARY, Connection
from .qbo import throttle


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list:
    errors: list = []
    env = app_settings.ENVIRONMENT
    if env != "simulator" and env not in ENVIRONMENTS:
        errors.append(Error(
            f"QBO_SYNC['ENVIRONMENT'] is {env!r}.",
            hint="Set it to 'simulator', 'sandbox' or 'production'.",
            id="qbo_sync.E001",
        ))
    if env in ENVIRONMENTS and not (app_settings.CLIENT_ID and app_settings.CLIENT_SECRET):
        errors.append(Error(
            "QBO_SYNC['CLIENT_ID'] and QBO_SYNC['CLIENT_SECRET'] must be set for "
            f"ENVIRONMENT={env!r}.",
            hint="Copy them from your Intuit app's Keys & credentials page "
            "(Development keys for 'sandbox', Production keys for 'production').",
            id="qbo_sync.E002",
        ))
    problem = minor_version_error(app_settings.MINOR_VERSION)
    if problem:
        errors.append(Error(
            f"QBO_SYNC['MINOR_VERSION'] is {app_settings.MINOR_VERSION!r}: it {problem}",
            hint=f"Set it to {MIN_MINOR_VERSION} (or a newer minor version up to "
            f"{MAX_MINOR_VERSION}), or leave it out for the default.",
            id="qbo_sync.E004",
        ))
    errors += _check_adapters()
    if "django_q" not in settings.INSTALLED_APPS:
        errors.append(Error(
            "django_q is not in INSTALLED_APPS; qbo_sync runs all background work on it.",
            hint="Add 'django_q' to INSTALLED_APPS and configure Q_CLUSTER.",
            id="qbo_sync.E006",
        ))
    if app_settings.WEBHOOKS_ENABLED and not app_settings.WEBHOOK_VERIFIER_TOKEN:
        errors.append(Error(
            "QBO_SYNC['WEBHOOKS_ENABLED'] is on but WEBHOOK_VERIFIER_TOKEN is empty.",
            hint="Copy the verifier token from your Intuit app's Webhooks page.",
            id="qbo_sync.E007",
        ))
    for problem in retention_problems(app_settings.RETENTION_DAYS):
        errors.append(Error(
            f"QBO_SYNC['RETENTION_DAYS'] {problem}",
            hint='Give each kind a whole number of days, 1 or more, e.g. {"webhook_events": '
            '30, "seen_events": 90, "job_payloads": 90, "attempts": 90}; leave a kind out '
            "for its default.",
            id="qbo_sync.E008",
        ))
    limit = app_settings.WEBHOOK_MAX_BYTES
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        errors.append(Error(
            f"QBO_SYNC['WEBHOOK_MAX_BYTES'] is {limit!r}: it must be a whole number of "
            "bytes, 1 or more.",
            hint="Leave it out for the default (1048576, 1 MiB); QuickBooks' notifications "
            "carry only ids and are far smaller.",
            id="qbo_sync.E009",
        ))
    how = app_settings.INVOICE_DELETE
    if how not in ("void", "delete", "keep"):
        errors.append(Error(
            f"QBO_SYNC['INVOICE_DELETE'] is {how!r}.",
            hint='Set it to "void" (the default: the QuickBooks invoice is voided), '
            '"delete" (it is deleted there) or "keep" (left as it is; reconciliation '
            "reports it).",
            id="qbo_sync.E010",
        ))
    hours = app_settings.RECONCILE_INTERVAL_HOURS
    if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours < 0:
        errors.append(Error(
            f"QBO_SYNC['RECONCILE_INTERVAL_HOURS'] is {hours!r}: it must be a number of "
            "hours, 0 or more.",
            hint="Leave it out for the default (24, daily); 0 turns the schedule off.",
            id="qbo_sync.E011",
        ))
    for problem in alert_problems(app_settings.ALERTS):
        errors.append(Error(
            f"QBO_SYNC['ALERTS'] {problem}",
            hint='README "Alerts" lists every key and its default; a key left out keeps '
            "its default.",
            id="qbo_sync.E012",
        ))
    match = app_settings.IMPORT_MATCH
    if match not in ("email", "name", "both"):
        errors.append(Error(
            f"QBO_SYNC['IMPORT_MATCH'] is {match!r}.",
            hint='Set it to "email", "name" or "both" (the default: email, then display '
            "name).",
            id="qbo_sync.E013",
        ))
    redirect = app_settings.REDIRECT_URI or ""
    if env == "production" and redirect and not redirect.startswith("https://"):
        errors.append(Warning(
            f"QBO_SYNC['REDIRECT_URI'] is {redirect!r}.",
            hint="Intuit accepts only HTTPS redirect URIs for production apps.",
            id="qbo_sync.W001",
        ))
    errors += _check_sqlite_options()
    errors += _check_rate_limit_storage(env)
    return errors


def _check_rate_limit_storage(env: str) -> list:
    """The call budget's storage: one ``limits`` knows, and shared across workers."""
    if not app_settings.RATE_LIMIT_ENABLED:
        return []
    uri = throttle.storage_uri()
    scheme = urlparse(uri).scheme
    try:
        storage_from_string(uri)  # builds it only: no storage connects before a call
    except LimitsConfigurationError as err:
        return [Error(
            f"QBO_SYNC['RATE_LIMIT_STORAGE'] is {uri!r}, which the limits library cannot "
            f"use: {err}.",
            hint='Use a limits storage URI ("redis://host:6379/2"), or leave it out to use '
            "the Redis of RATE_LIMIT_CACHE or the database.",
            id="qbo_sync.E014",
        )]
    if scheme == "memory" and env != "simulator":
        return [Warning(
            "QBO_SYNC['RATE_LIMIT_STORAGE'] is memory://: each worker process keeps a "
            "call budget of its own, so several workers together can pass QuickBooks' "
            "limits and be throttled.",
            hint="Leave it out (the database, or the Redis of RATE_LIMIT_CACHE).",
            id="qbo_sync.W003",
        )]
    return []


def _check_adapters() -> list:
    errors = []
    for kind in (app_settings.ADAPTERS or {}):
        if kind not in KINDS:
            errors.append(Error(
                f"QBO_SYNC['ADAPTERS'] has an unknown kind {kind!r}.",
                hint=f"Use one of: {', '.join(KINDS)}.",
                id="qbo_sync.E005",
            ))
            continue
        try:
            get_adapter(kind)
        except ConfigurationError as err:
            errors.append(Error(str(err), hint="Fix the dotted path.", id="qbo_sync.E005"))
    return errors


def _check_sqlite_options() -> list:
    db = settings.DATABASES.get("default", {})
    if not db.get("ENGINE", "").endswith("sqlite3"):
        return []
    options = db.get("OPTIONS", {})
    if options.get("transaction_mode") == "IMMEDIATE" and "WAL" in options.get("init_command", ""):
        return []
    return [Warning(
        "SQLite without IMMEDIATE transactions and WAL: django-q2's scheduler and workers "
        "can lock the database and run a schedule twice.",
        hint='Set DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": '
        '"IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}.',
        id="qbo_sync.W002",
    )]


@register(Tags.database)
def check_encryption_canary(app_configs: Any = None, databases: Any = None, **kwargs: Any):
    """Prove the configured key decrypts the stored tokens.

    django-encrypted-model-fields returns the ciphertext unchanged when the key is
    wrong, so a rotated-away key would otherwise surface as odd 401s much later.
    """
    if not databases or "default" not in databases:
        return []
    try:
        rows = list(
            Connection.objects.exclude(key_canary="").values_list("workspace", "key_canary")
        )
    except DatabaseError:
        return []  # not migrated yet
    bad = [ws for ws, canary in rows if canary != KEY_CANARY]
    if not bad:
        return []
    return [Error(
        "FIELD_ENCRYPTION_KEY cannot decrypt the stored QuickBooks tokens of "
        f"workspace(s) {', '.join(sorted(bad))}.",
        hint="Restore the key they were encrypted with. To rotate keys, list the new key "
        "first and keep the old one: FIELD_ENCRYPTION_KEY = [new, old].",
        id="qbo_sync.E003",
    )]


@register()
def check_metrics_settings(app_configs: Any = None, **kwargs: Any) -> list:
    """The metrics' settings (README, "Metrics")."""
    errors: list = []
    if app_settings.PROMETHEUS_ENABLED:
        if not app_settings.PROMETHEUS_TOKEN:
            errors.append(Error(
                "QBO_SYNC['PROMETHEUS_ENABLED'] is on but PROMETHEUS_TOKEN is empty: the "
                "scrape endpoint answers no one.",
                hint="Set PROMETHEUS_TOKEN to a long random string (e.g. python -c "
                "\"import secrets; print(secrets.token_urlsafe(32))\") and give it to "
                "Prometheus as its bearer token.",
                id="qbo_sync.E040",
            ))
        try:
            import prometheus_client  # noqa: F401
        except ImportError:
            errors.append(Error(
                "QBO_SYNC['PROMETHEUS_ENABLED'] is on but prometheus-client is not "
                "installed.",
                hint="pip install 'qbo-sync[prometheus]', or turn PROMETHEUS_ENABLED off.",
                id="qbo_sync.E041",
            ))
    budget = app_settings.METERED_READS_PER_MONTH
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        errors.append(Error(
            f"QBO_SYNC['METERED_READS_PER_MONTH'] is {budget!r}: it must be a whole number "
            "of calls, 1 or more.",
            hint="Leave it out for the default (500000, Intuit's Builder tier), or set "
            "your tier's monthly allowance.",
            id="qbo_sync.E042",
        ))
    return errors
