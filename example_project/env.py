"""Reading the example product's settings from the environment, safely: a required
value that is missing is an error that says how to make one, never a fallback anyone
could read (issue 13)."""

from __future__ import annotations

import os

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

#: The commands the errors quote to make each secret.
MAKE_SECRET_KEY = ('python -c "from django.core.management.utils import '
                   'get_random_secret_key; print(get_random_secret_key())"')
MAKE_FERNET_KEY = ('python -c "from cryptography.fernet import Fernet; '
                   'print(Fernet.generate_key().decode())"')


def make_with(command: str) -> str:
    return f"Make one with\n    {command}\nand put it in the environment."


def required(name: str, what: str, how: str) -> str:
    """The environment variable ``name``; unset or blank is ``ImproperlyConfigured``
    naming it, what it is for and ``how`` to get one."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set: the example product needs {what} from the environment "
            f"and has no fallback. {how}")
    return value


def flag(name: str) -> bool:
    """``NAME=1`` (or true/yes/on) is on; anything else, or unset, is off."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def listed(name: str, default: str = "") -> list[str]:
    """A comma-separated environment variable as a list (blanks dropped)."""
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def number(name: str, default: int) -> int:
    """A whole number from the environment (``default`` when unset)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} is {value!r}: it must be a whole number.") \
            from None


def secret_key() -> str:
    return required("DJANGO_SECRET_KEY", "a secret key (sessions, CSRF tokens, signing)",
                    make_with(MAKE_SECRET_KEY))


def field_encryption_key() -> str | list[str]:
    """``FIELD_ENCRYPTION_KEY``: one Fernet key, or ``new,old,…`` to rotate keys (the
    first encrypts, all decrypt). A value that is not a Fernet key is an error now, not
    unreadable tokens later."""
    value = required("FIELD_ENCRYPTION_KEY", "a Fernet key to encrypt the QuickBooks tokens",
                     make_with(MAKE_FERNET_KEY))
    keys = [key.strip() for key in value.split(",") if key.strip()]
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64-encoded "
                f"bytes). {make_with(MAKE_FERNET_KEY)}") from None
    return keys[0] if len(keys) == 1 else keys


def qbo_credential(name: str, environment: str, simulator_value: str, what: str,
                   where: str) -> str:
    """A QuickBooks credential: the simulator's well-known value only while talking to
    the simulator; for Intuit (``sandbox``, ``production``) it must be in the
    environment."""
    if environment == "simulator":
        return os.environ.get(name) or simulator_value
    return required(name, what, where)
