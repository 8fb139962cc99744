"""A per-realm call budget shared by every worker that shares Django's cache.

QBO allows 500 requests a minute and 10 in flight per realm, and 40 batch calls a
minute (docs/qbo-rules.md §3). We stay under that on our side with fixed one-minute windows
and an in-flight counter kept in ``caches[QBO_SYNC["RATE_LIMIT_CACHE"]]``. With a
shared cache (Redis, Memcached, the database cache) the budget holds across all
workers; with the per-process LocMemCache it holds per process only.

When the budget is spent we wait a little, then give up with a local ``Throttled``
so the job backs off like after a real 429, instead of hammering QBO.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import caches

from ..conf import app_settings
from ..exceptions import Throttled

WINDOW = 60
BATCH_PER_MINUTE = 40
_now = time.time  # wall clock; tests pin it


def _cache():
    return caches[app_settings.RATE_LIMIT_CACHE]


def _bump(key: str, ttl: int) -> int:
    cache = _cache()
    cache.add(key, 0, ttl)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        return 1


def _drop(key: str) -> None:
    try:
        _cache().decr(key)
    except ValueError:
        pass


def _take_window(realm: str, name: str, limit: int, max_wait: float) -> None:
    deadline = time.monotonic() + max_wait
    while True:
        window = int(_now() // WINDOW)
        if _bump(f"qbo_sync:rate:{name}:{realm}:{window}", WINDOW * 2) <= limit:
            return
        wait = (window + 1) * WINDOW - _now()
        if time.monotonic() + wait > deadline:
            raise Throttled(
                f"qbo_sync held this call back: the company's budget of {limit} {name} "
                "calls a minute is spent.",
                code="3001",
            )
        time.sleep(max(wait, 0.05))


@contextmanager
def budget(realm: str, *, batch: bool = False) -> Iterator[None]:
    """Hold one of the realm's in-flight slots and one unit of its minute budget."""
    if not app_settings.RATE_LIMIT_ENABLED:
        yield
        return
    max_wait = float(app_settings.RATE_LIMIT_MAX_WAIT)
    _take_window(realm, "requests", int(app_settings.RATE_LIMIT_PER_MINUTE), max_wait)
    if batch:
        _take_window(realm, "batch", BATCH_PER_MINUTE, max_wait)
    key = f"qbo_sync:inflight:{realm}"
    deadline = time.monotonic() + max_wait
    # A crashed worker's slot is freed when the key expires (TIMEOUT's read time).
    ttl = int(sum(app_settings.TIMEOUT)) + 5
    while _bump(key, ttl) > int(app_settings.MAX_CONCURRENT):
        _drop(key)
        if time.monotonic() > deadline:
            raise Throttled(
                f"qbo_sync held this call back: {app_settings.MAX_CONCURRENT} calls to the "
                "company are already in flight.",
                code="3001",
            )
        time.sleep(0.05)
    try:
        yield
    finally:
        _drop(key)
