"""Production settings for the example product: the base settings with Django's
deployment checklist applied, so ``manage.py check --deploy`` is clean.

    DJANGO_SETTINGS_MODULE=example_project.settings_production

Everything secret or site-specific comes from the environment, and a missing value is an
error that names it (``example_project/env.py``):

- ``DJANGO_SECRET_KEY``, ``FIELD_ENCRYPTION_KEY`` (as in the base settings);
- ``DJANGO_ALLOWED_HOSTS``: the site's host names, comma-separated;
- ``QBO_ENVIRONMENT``: ``sandbox`` or ``production`` (never the simulator here), with
  ``QBO_CLIENT_ID``, ``QBO_CLIENT_SECRET``, ``QBO_WEBHOOK_VERIFIER`` and an https
  ``QBO_REDIRECT_URI``.

Optional: ``DJANGO_CSRF_TRUSTED_ORIGINS`` (comma-separated ``https://…`` origins),
``DJANGO_BEHIND_TLS_PROXY=1`` when a proxy terminates TLS and sets
``X-Forwarded-Proto`` (only then: the header is trusted as given),
``DJANGO_HSTS_SECONDS`` (default one year). ``DJANGO_DEBUG`` is ignored: never on here.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from . import env
from .settings import *  # noqa: F403
from .settings import QBO_SYNC

DEBUG = False

ALLOWED_HOSTS = env.listed("DJANGO_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS is not set: list the site's host names, comma-separated "
        "(e.g. DJANGO_ALLOWED_HOSTS=billing.example.com).")
CSRF_TRUSTED_ORIGINS = env.listed("DJANGO_CSRF_TRUSTED_ORIGINS")

# HTTPS only: redirect plain http, tell browsers to stay on https, and keep the session
# and CSRF cookies off plain http.
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = env.number("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.flag("DJANGO_BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# QuickBooks: Intuit's own servers, with credentials from the environment.
_environment = env.required("QBO_ENVIRONMENT", "the Intuit environment",
                            "Set it to 'sandbox' or 'production'.")
if _environment not in ("sandbox", "production"):
    raise ImproperlyConfigured(
        f"QBO_ENVIRONMENT is {_environment!r}: production settings talk to Intuit, set it "
        "to 'sandbox' or 'production' (the simulator is for the demo and the tests).")
_redirect = env.required("QBO_REDIRECT_URI", "the OAuth redirect URI registered with Intuit",
                         "Set it to https://<your host>/qbo/callback/.")
if not _redirect.startswith("https://"):
    raise ImproperlyConfigured(f"QBO_REDIRECT_URI is {_redirect!r}: it must be https://….")
QBO_SYNC = {**QBO_SYNC, "ENVIRONMENT": _environment, "REDIRECT_URI": _redirect}

# Alert e-mails (README "Alerts") through SMTP here, not the demo's console; Django's
# EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER… settings configure it.
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND",
                               "django.core.mail.backends.smtp.EmailBackend")
