"""A per-realm call budget shared by every worker that shares its storage.

QBO allows 500 requests in any sliding minute and 10 in flight per realm and app, and
40 batch calls a minute per realm and app (docs/qbo-rules.md §3). The minute budgets are
a moving window from the ``limits`` library: every call is logged, and a call goes only
if fewer than the limit were made in the 60 seconds before it, the way QBO counts. Fixed
one-minute windows would let twice the limit through around a window boundary (issue 16).

Where the window lives (``storage_uri``): ``QBO_SYNC["RATE_LIMIT_STORAGE"]`` (a ``limits``
storage URI) when set; else the Redis of ``RATE_LIMIT_CACHE`` when that cache is Redis;
else the database (``qbo-sync-db://default``, qbo_sync.sync.budget), which every worker
process of the embedded default shares. The in-flight slots are leases in that database
storage, or a counter in the Django cache ``RATE_LIMIT_CACHE`` with the other storages.

A call without budget waits for the exact moment it frees (the oldest logged call
leaves the window) when that is at most ``RATE_LIMIT_MAX_WAIT`` seconds away; past that
it raises ``BudgetSpent`` with that moment (``retry_at``), and the engine reschedules
the job for it without counting a try (nothing was sent) and frees the worker for other
companies' jobs. 429s QBO answers are counted per realm (:func:`throttled_count`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import caches
from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ..conf import app_settings
from ..exceptions import BudgetSpent

logger = logging.getLogger("qbo_sync.throttle")

#: Batch calls a minute per realm and app (docs/qbo-rules.md §3). QBO's 120 a minute per
#: realm counts every app's; staying at 40 for ours is the limit we can keep.
BATCH_PER_MINUTE = 40
#: QBO's window: any 60 seconds (tests shorten it to keep a pacing test quick).
WINDOW_SECONDS = 60
#: Ours is a little longer. QBO counts a call when it arrives, we count it when it takes
#: its budget, a moment before; that moment varies with the network and the worker. A
#: call that takes budget the instant it frees could otherwise reach QBO less than 60 s
#: after the call it replaces, and be refused with a 429 (docs/qbo-rules.md §3).
WINDOW_MARGIN_SECONDS = 2
#: The database storage of the embedded default (qbo_sync.sync.budget registers it).
DATABASE_STORAGE = "qbo-sync-db://default"
#: How long a call whose slots are all taken comes back after, when it cannot wait: a
#: slot frees when some call ends, a moment nobody knows in advance.
SLOT_RETRY = 0.5
#: How long a 429 counter lasts (limits' counters expire): a day, for the metrics.
THROTTLED_TTL = 86400


def _cache():
    return caches[app_settings.RATE_LIMIT_CACHE]


def storage_uri() -> str:
    """Where the minute windows live: ``RATE_LIMIT_STORAGE``, else the Redis behind
    ``RATE_LIMIT_CACHE``, else the database every local worker shares."""
    if app_settings.RATE_LIMIT_STORAGE:
        return str(app_settings.RATE_LIMIT_STORAGE)
    conf = settings.CACHES.get(app_settings.RATE_LIMIT_CACHE, {})
    location = conf.get("LOCATION") or ""
    if isinstance(location, (list, tuple)):
        location = location[0] if location else ""
    if "redis" in str(conf.get("BACKEND", "")).lower() and str(location).startswith("redis"):
        return str(location)
    return DATABASE_STORAGE


@lru_cache(maxsize=8)
def _limiter(uri: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(storage_from_string(uri))


def _storage() -> Any:
    return _limiter(storage_uri()).storage


def reset() -> None:
    """Forget every logged call (tests start each case with a full budget)."""
    _storage().reset()


# Minute windows ---------------------------------------------------------------------------


def _item(limit: int) -> RateLimitItemPerSecond:
    return RateLimitItemPerSecond(limit, WINDOW_SECONDS + WINDOW_MARGIN_SECONDS)


def _window_spent(limit: int, name: str, wait: float, frees: float) -> BudgetSpent:
    return BudgetSpent(
        f"qbo_sync held this call back: the company's budget of {limit} {name} "
        "calls a minute is spent.",
        code="3001", retry_after=wait, retry_at=frees,
    )


def _take_window(realm: str, name: str, limit: int, max_wait: float) -> None:
    limiter, item = _limiter(storage_uri()), _item(limit)
    while not limiter.hit(item, "qbo_sync", name, realm):
        # The moment the oldest call in the window is a minute old.
        frees = limiter.get_window_stats(item, "qbo_sync", name, realm).reset_time
        wait = frees - time.time()
        if wait > max_wait:
            raise _window_spent(limit, name, wait, frees)
        time.sleep(max(wait, 0.001))


# In-flight slots ----------------------------------------------------------------------------


def _slot_ttl() -> float:
    # A crashed worker's slot frees when its lease ends: the longest a call can take.
    return float(sum(app_settings.TIMEOUT)) + 5


def _slot_refused(max_concurrent: int) -> BudgetSpent:
    return BudgetSpent(
        f"qbo_sync held this call back: {max_concurrent} calls to the company are "
        "already in flight.",
        code="3001", retry_after=SLOT_RETRY, retry_at=time.time() + SLOT_RETRY,
    )


def _wait_for(take: Any, max_concurrent: int, max_wait: float) -> Any:
    """Poll ``take`` until it gives a slot; slots free when calls end, unannounced."""
    deadline = time.monotonic() + max_wait
    pause = 0.01
    while True:
        got = take()
        if got is not None:
            return got
        left = deadline - time.monotonic()
        if left <= 0:
            raise _slot_refused(max_concurrent)
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.2)


def _bump(key: str, ttl: int) -> int | None:
    cache = _cache()
    cache.add(key, 0, ttl)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        count = 1
    return count


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


@contextmanager
def _cache_slot(realm: str, limit: int, max_wait: float) -> Iterator[None]:
    key = f"qbo_sync:inflight:{realm}"
    ttl = int(_slot_ttl())

    def take() -> bool | None:
        if _bump(key, ttl) <= limit:
            return True
        _drop(key)
        return None

    _wait_for(take, limit, max_wait)
    try:
        yield
    finally:
        _drop(key)


# The database budget: every unit in one transaction ------------------------------------


class _Refused(Exception):  # noqa: N818 - a signal inside this module, not an error
    def __init__(self, name: str, item: Any = None) -> None:
        super().__init__(name)
        self.name, self.item = name, item


def _take_all(storage: Any, realm: str, windows: list[tuple[str, Any]], slots: int) -> Any:
    """The windows' units and a slot in one short transaction (one commit, where taking
    them one by one costs one each), or none of them: the refusal, for the caller to wait
    outside the transaction, which holds the database's write lock on SQLite."""
    limiter = _limiter(storage_uri())
    try:
        with storage.atomic():
            for name, item in windows:
                if not limiter.hit(item, "qbo_sync", name, realm):
                    raise _Refused(name, item)
            lease = storage.acquire_lease(f"qbo_sync/inflight/{realm}", slots, _slot_ttl())
            if lease is None:
                raise _Refused("slots")
            return lease
    except _Refused as refused:
        return refused


@contextmanager
def _database_budget(storage: Any, realm: str, windows: list[tuple[str, Any]],
                     slots: int, max_wait: float) -> Iterator[None]:
    deadline = time.monotonic() + max_wait
    pause = 0.01
    while isinstance(taken := _take_all(storage, realm, windows, slots), _Refused):
        if taken.name == "slots":
            left = deadline - time.monotonic()
            if left <= 0:
                raise _slot_refused(slots)
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.2)
            continue
        frees = _limiter(storage_uri()).get_window_stats(
            taken.item, "qbo_sync", taken.name, realm).reset_time
        wait = frees - time.time()
        if time.monotonic() + wait > deadline:
            raise _window_spent(taken.item.amount, taken.name, wait, frees)
        time.sleep(max(wait, 0.001))
    try:
        yield
    finally:
        try:
            storage.release_lease(taken)
        except Exception as exc:  # noqa: BLE001 - best effort, see _drop
            logger.warning("could not free an in-flight slot (%s); it expires by itself",
                           exc.__class__.__name__)


# The budget -----------------------------------------------------------------------------


@contextmanager
def budget(realm: str, *, batch: bool = False) -> Iterator[None]:
    """Hold one of the realm's in-flight slots and one unit of its minute budget (and of
    its batch budget for a batch call)."""
    if not app_settings.RATE_LIMIT_ENABLED:
        yield
        return
    max_wait = float(app_settings.RATE_LIMIT_MAX_WAIT)
    storage, limit = _storage(), int(app_settings.MAX_CONCURRENT)
    if hasattr(storage, "acquire_lease"):
        windows = [("requests", _item(int(app_settings.RATE_LIMIT_PER_MINUTE)))]
        if batch:
            windows.insert(0, ("batch", _item(BATCH_PER_MINUTE)))
        with _database_budget(storage, realm, windows, limit, max_wait):
            yield
        return
    if batch:  # first: the batch budget binds in a backfill, and a refusal here costs none
        _take_window(realm, "batch", BATCH_PER_MINUTE, max_wait)
    _take_window(realm, "requests", int(app_settings.RATE_LIMIT_PER_MINUTE), max_wait)
    with _cache_slot(realm, limit, max_wait):
        yield


# 429s --------------------------------------------------------------------------------------


def _throttled_key(realm: str) -> str:
    return f"qbo_sync/throttled/{realm}"


def record_throttled(realm: str) -> None:
    """Count a 429 QuickBooks answered for ``realm``. Best effort: the count is for the
    metrics, and a storage that is down must not hide the 429 itself."""
    try:
        _storage().incr(_throttled_key(realm), THROTTLED_TTL)
    except Exception as exc:  # noqa: BLE001 - see above
        logger.warning("could not count a 429 (%s)", exc.__class__.__name__)


def throttled_count(realm: str) -> int:
    """429s QuickBooks answered for ``realm`` in the last day (the counter's life)."""
    return int(_storage().get(_throttled_key(realm)))
