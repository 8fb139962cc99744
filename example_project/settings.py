"""Settings for the example invoicing product that hosts qbo_sync.

Environment variables switch the stack: ``QBO_DB=postgres`` uses PostgreSQL at
127.0.0.1:5432 (database ``test``), ``QBO_BROKER=redis`` uses django-q2's Redis broker.
The default is SQLite + the ORM broker + the built-in QBO simulator.

Safe by default: ``DEBUG`` is off unless ``DJANGO_DEBUG=1``, and there is no fallback
``SECRET_KEY`` or ``FIELD_ENCRYPTION_KEY``: without ``DJANGO_SECRET_KEY`` and
``FIELD_ENCRYPTION_KEY`` in the environment the settings refuse to load and say how to
make them. The demo (``example_project/demo.py``) and the tests (``tests/settings.py``)
set their own throwaway values. Production: ``example_project.settings_production``.
"""

import os
from pathlib import Path

from . import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("QBO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.secret_key()
DEBUG = env.flag("DJANGO_DEBUG")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_q",
    "encrypted_model_fields",
    "qbo_sync",
    "example_project.billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The browser's session, with Django's CSRF check on every unsafe method. No HTTP
    # Basic: a password in every request, and nothing here locks out guessing.
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
}

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Persistent connections, checked before reuse. Django's default (0) closes a connection
# whenever close_old_connections runs: django-q2's ORM broker runs it each time it looks
# for tasks (five times a second), and its workers around every task, so each would open
# a new connection every time (README, "Installing into a host project").
PERSISTENT = {"CONN_MAX_AGE": 600, "CONN_HEALTH_CHECKS": True}

if os.environ.get("QBO_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "test"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            **PERSISTENT,
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("QBO_SQLITE", str(VAR_DIR / "db.sqlite3")),
            # Without these django-q2's scheduler can lock SQLite and run a schedule twice.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL;",
            },
            **PERSISTENT,
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# Encrypts the QuickBooks tokens at rest (django-encrypted-model-fields).
FIELD_ENCRYPTION_KEY = env.field_encryption_key()

Q_CLUSTER = {
    "name": "qbo_sync_example",
    "workers": 2,
    "timeout": 120,
    "retry": 180,
    "max_attempts": 1,
    "catch_up": False,
    "orm": "default",
    "sync": os.environ.get("QBO_Q_SYNC") == "1",
    "log_level": os.environ.get("QBO_Q_LOG_LEVEL", "INFO"),
}
if os.environ.get("QBO_BROKER") == "redis":
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    # A shared cache, so qbo_sync's per-realm call budget holds across all workers.
    # Its own Redis database: clearing the cache never touches the broker's queue.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ.get("REDIS_CACHE_URL", "redis://127.0.0.1:6379/1"),
        }
    }

_QBO_ENVIRONMENT = os.environ.get("QBO_ENVIRONMENT", "simulator")
_INTUIT_KEYS = "Copy it from your Intuit app's Keys & credentials page."
QBO_SYNC = {
    "ENVIRONMENT": _QBO_ENVIRONMENT,
    "SIMULATOR_URL": os.environ.get("QBO_SIMULATOR_URL", "http://127.0.0.1:8765"),
    # The simulator's well-known credentials only while ENVIRONMENT is "simulator".
    "CLIENT_ID": env.qbo_credential("QBO_CLIENT_ID", _QBO_ENVIRONMENT, "simulator-client-id",
                                    "the Intuit client id", _INTUIT_KEYS),
    "CLIENT_SECRET": env.qbo_credential("QBO_CLIENT_SECRET", _QBO_ENVIRONMENT,
                                        "simulator-client-secret", "the Intuit client secret",
                                        _INTUIT_KEYS),
    "REDIRECT_URI": os.environ.get("QBO_REDIRECT_URI") or None,
    "ADAPTERS": {
        "contact": "example_project.billing.qbo.ContactAdapter",
        "invoice": "example_project.billing.qbo.InvoiceAdapter",
        "payment": "example_project.billing.qbo.PaymentAdapter",
        "credit_memo": "example_project.billing.qbo.CreditMemoAdapter",
        "refund": "example_project.billing.qbo.RefundAdapter",
        "time_entry": "example_project.billing.qbo_time.TimeEntryAdapter",
    },
    "WORKSPACE_RESOLVER": "example_project.billing.qbo.workspace_for_request",
    "PERMISSION_CHECK": "example_project.billing.qbo.can_manage_integration",
    "WEBHOOKS_ENABLED": True,
    "WEBHOOK_VERIFIER_TOKEN": env.qbo_credential(
        "QBO_WEBHOOK_VERIFIER", _QBO_ENVIRONMENT, "simulator-verifier-token",
        "the webhook verifier token", "Copy it from your Intuit app's Webhooks page."),
    # Alerts e-mail the workspace's admins and managers (README "Alerts"); a chat
    # webhook is added with QBO_ALERT_WEBHOOK_URL.
    "ALERTS": {
        "RECIPIENTS": "example_project.billing.qbo.alert_recipients",
        "SECRET_WEBHOOK_URL": os.environ.get("QBO_ALERT_WEBHOOK_URL", ""),
    },
}

# Alert e-mails go to the console of the server and of the qcluster in the demo; set a
# real backend (SMTP, anymail…) in production.
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND",
                               "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DJANGO_DEFAULT_FROM_EMAIL", "qbo-sync@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"qbo_sync": {"handlers": ["console"], "level": "WARNING"}},
}
