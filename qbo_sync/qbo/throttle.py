"""A per-realm call budget shared by every worker that shares its storage.

QBO allows 500 requests in any sliding minute and 10 in flight per realm, and 40 batch
calls a minute (docs/qbo-rules.md §3). The minute budgets are a moving window from the
``limits`` library: every call is logged, and a call goes only if fewer than the limit
were made in the 60 seconds before it, the way QBO counts. Fixed one-minute windows
would let twice the limit through around a window boundary (issue 16).

The window lives in ``QBO_SYNC["RATE_LIMIT_STORAGE"]`` (a ``limits`` storage URI),
by default the Redis of ``RATE_LIMIT_CACHE`` when that cache is Redis, so the budget
holds across all workers on every machine, else ``memory://``, which holds per
process only. The in-flight counter is kept in the Django cache ``RATE_LIMIT_CACHE``.

When the budget is spent a call waits for the moment the oldest logged call leaves
the window, up to ``RATE_LIMIT_MAX_WAIT`` seconds; past that it raises
``BudgetSpent`` with that moment, and the engine reschedules the job for it without
counting a try (nothing was sent).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from django.conf import settings
from django.core.cache import caches
from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..conf import app_settings
from ..exceptions import BudgetSpent

logger = logging.getLogger("qbo_sync.throttle")

BATCH_PER_MINUTE = 40


def _cache():
    return caches[app_settings.RATE_LIMIT_CACHE]


def storage_uri() -> str:
    """Where the minute windows live: ``RATE_LIMIT_STORAGE``, else the Redis behind
    ``RATE_LIMIT_CACHE``, else this process's memory."""
    if app_settings.RATE_LIMIT_STORAGE:
        return str(app_settings.RATE_LIMIT_STORAGE)
    conf = settings.CACHES.get(app_settings.RATE_LIMIT_CACHE, {})
    location = conf.get("LOCATION") or ""
    if isinstance(location, (list, tuple)):
        location = location[0] if location else ""
    if "redis" in str(conf.get("BACKEND", "")).lower() and str(location).startswith("redis"):
        return str(location)
    return "memory://"


@lru_cache(maxsize=8)
def _limiter(uri: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(uri))


def reset() -> None:
    """Forget every logged call (tests start each case with a full budget)."""
    _limiter(storage_uri()).storage.reset()


def _bump(key: str, ttl: int) -> int:
    cache = _cache()
    cache.add(key, 0, ttl)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        return 1


def _drop(key: str) -> None:
    """Give the slot back. Best effort: it runs after the call was sent, so a cache that
    is down (Redis restarting) must not turn a call that reached QuickBooks into an
    error; the slot then frees when its key expires."""
    try:
        _cache().decr(key)
    except ValueError:
        pass
    except Exception as exc:  # noqa: BLE001 - see above
        logger.warning("could not free an in-flight slot (%s); it expires by itself",
                       exc.__class__.__name__)


def _take_window(realm: str, name: str, limit: int, max_wait: float) -> None:
    limiter, item = _limiter(storage_uri()), RateLimitItemPerMinute(limit)
    deadline = time.monotonic() + max_wait
    while not limiter.hit(item, "qbo_sync", name, realm):
        # The moment the oldest call in the window is a minute old.
        frees = limiter.get_window_stats(item, "qbo_sync", name, realm).reset_time
        wait = max(frees - time.time(), 0.01)
        if time.monotonic() + wait > deadline:
            raise BudgetSpent(
                f"qbo_sync held this call back: the company's budget of {limit} {name} "
                "calls a minute is spent.",
                code="3001", retry_after=wait,
            )
        time.sleep(wait)


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
            raise BudgetSpent(
                f"qbo_sync held this call back: {app_settings.MAX_CONCURRENT} calls to the "
                "company are already in flight.",
                code="3001", retry_after=1.0,
            )
        time.sleep(0.05)
    try:
        yield
    finally:
        _drop(key)
