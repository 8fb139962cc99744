"""Errors grouped the way the caller reacts to them (``qbo_sync.exceptions``)."""

from __future__ import annotations

from functools import cache

from .. import exceptions as exc

#: The exception groups, most specific first; anything else is "other".
GROUPS: tuple[tuple[type[exc.QBOSyncError], str], ...] = (
    (exc.ReconnectRequired, "reconnect"),
    (exc.TransientError, "transient"),
    (exc.StaleObjectError, "stale"),
    (exc.QBOValidationError, "validation"),
    (exc.HostDataError, "host_data"),
    (exc.ConfigurationError, "configuration"),
    (exc.MappingError, "mapping"),
)
#: A failure without QuickBooks' error code (a mapping or setting problem, a network error).
NO_CODE = "none"


@cache
def _classes() -> dict[str, type[exc.QBOSyncError]]:
    found: dict[str, type[exc.QBOSyncError]] = {}
    todo: list[type[exc.QBOSyncError]] = [exc.QBOSyncError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found


def error_group(type_name: str) -> str:
    """The group of a stored error's ``type`` (``QBOSyncError.as_dict()``)."""
    cls = _classes().get(type_name)
    if cls is not None:
        for base, name in GROUPS:
            if issubclass(cls, base):
                return name
    return "other"


def error_code(error: object) -> str:
    """QuickBooks' code of a stored error, or :data:`NO_CODE`."""
    code = error.get("code") if isinstance(error, dict) else None
    return str(code) if code not in (None, "") else NO_CODE
