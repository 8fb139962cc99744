"""Counting the QuickBooks calls a connection's clients send: one row per connection,
minute, kind and source (:class:`~qbo_sync.models.ApiCallCount`), bumped by a single
``UPDATE … SET count = count + 1``. The client layer (``qbo_sync.qbo``) knows no model,
so the counting client lives here, where clients are made for stored connections."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..models import ApiCallCount

logger = logging.getLogger("qbo_sync.usage")

Kind = ApiCallCount.Kind


def call_kind(method: str, path: str) -> str:
    """What a call to ``path`` (relative to the company, e.g. ``"invoice/12"``) is.
    A POST query is a read, as the client itself treats it (docs/qbo-rules.md §3)."""
    head = path.split("?", 1)[0].split("/", 1)[0].lower()
    if head == "batch":
        return Kind.BATCH
    if head == "query":
        return Kind.QUERY
    if head == "cdc":
        return Kind.CDC
    return Kind.READ if method.upper() == "GET" else Kind.WRITE


def record_calls(connection_id: int, kind: str, source: str, count: int = 1, *,
                 when: datetime | None = None) -> None:
    """Add ``count`` calls to the connection's row for this minute. Counting is best
    effort: a database error is logged and swallowed, never failing the sync, and the
    savepoint keeps a caller's transaction usable."""
    if count <= 0:
        return
    minute = (when or timezone.now()).replace(second=0, microsecond=0)
    key = {"connection_id": connection_id, "minute": minute, "kind": kind, "source": source}
    try:
        with transaction.atomic():
            if ApiCallCount.objects.filter(**key).update(count=F("count") + count):
                return
            try:
                with transaction.atomic():
                    ApiCallCount.objects.create(**key, count=count)
            except IntegrityError:  # another worker made this minute's row first
                ApiCallCount.objects.filter(**key).update(count=F("count") + count)
    except DatabaseError as exc:
        logger.warning("QuickBooks call count not recorded: %s", exc.__class__.__name__)
