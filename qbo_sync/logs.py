"""Log context and an optional JSON log format, for log pipelines.

A job's ``correlation_id`` is set in a :mod:`contextvars` variable while the job runs
(:func:`correlation`), so every log line of that run, including the QuickBooks client's
lines that carry ``intuit_tid``, can name the job without the HTTP layer knowing about
jobs (``qbo/`` imports this module, never the models). :class:`JsonFormatter` writes
one JSON object per line with both ids when present.

This module imports nothing from qbo_sync, so every layer may use it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_correlation: ContextVar[str] = ContextVar("qbo_sync_correlation_id", default="")

#: Record attributes a line may carry (``extra=``) that the JSON format writes out; any
#: other attribute is left out, so an ``extra`` holding a token never reaches the log.
CONTEXT_FIELDS = ("correlation_id", "intuit_tid", "job_id", "workspace", "realm_id")
#: Credentials that could end up in a message's text; masked whatever the logger.
_SECRETS = re.compile(
    r"(?i)((?:bearer|basic)\s+"
    r"|(?:access_token|refresh_token|id_token|client_secret)[\"']?\s*[:=]\s*[\"']?"
    r"|authorization[\"']?\s*[:=]\s*[\"']?(?:bearer\s+|basic\s+)?)[^\s\"',&]+")
MASK = "••••"


def current_correlation_id() -> str:
    """The correlation id of the job running in this context ("" outside a job)."""
    return _correlation.get()


@contextmanager
def correlation(correlation_id: Any) -> Iterator[None]:
    """Log lines in this block carry ``correlation_id`` (a job's UUID)."""
    token = _correlation.set(str(correlation_id or ""))
    try:
        yield
    finally:
        _correlation.reset(token)


def mask_secrets(text: str) -> str:
    """``text`` with bearer tokens and ``access_token=…``-style values masked."""
    return _SECRETS.sub(lambda m: m.group(1) + MASK, text)


class CorrelationFilter(logging.Filter):
    """Adds ``correlation_id`` from the context to records that lack it, for plain
    text formats (``%(correlation_id)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", ""):
            record.correlation_id = current_correlation_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, then ``correlation_id`` and ``intuit_tid`` (and ``job_id``,
    ``workspace``, ``realm_id``) when the line has them, and ``exception`` with the
    traceback. Messages are masked for bearer tokens and token parameters."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_secrets(record.getMessage()),
        }
        context = {"correlation_id": current_correlation_id()}
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                context[name] = value
        entry.update({k: str(v) for k, v in context.items() if v not in (None, "")})
        if record.exc_info:
            entry["exception"] = mask_secrets(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exception"] = mask_secrets(record.exc_text)
        if record.stack_info:
            entry["stack"] = mask_secrets(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)
