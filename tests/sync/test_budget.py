"""The call budget of the embedded default, in the database every worker process shares
(docs/qbo-rules.md §3): pacing across processes, in-flight leases that outlive no
worker, and the exact moment a held-back call may go."""

from __future__ import annotations

import multiprocessing
import time

import pytest
from django.conf import settings
from django.test import override_settings

from qbo_sync.exceptions import BudgetSpent
from qbo_sync.qbo import throttle
from qbo_sync.sync.budget import DatabaseStorage

from .budget_worker import spend

pytestmark = pytest.mark.django_db(transaction=True)


def limits(**kw):
    # The database storage even on the PostgreSQL + Redis stack, where the default
    # would be the Redis of the cache: this module is about the database storage.
    return override_settings(QBO_SYNC={**settings.QBO_SYNC,
                                       "RATE_LIMIT_STORAGE": throttle.DATABASE_STORAGE, **kw})


@pytest.fixture(autouse=True)
def _database_storage():
    with limits():
        yield


@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


@override_settings(CACHES={"default": {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache"}})
def test_the_default_stack_keeps_the_budget_in_the_database():
    """No storage named and no Redis behind the cache: the database."""
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "RATE_LIMIT_STORAGE": None}):
        assert throttle.storage_uri() == "qbo-sync-db://default"
        assert isinstance(throttle._storage(), DatabaseStorage)


@pytest.mark.skipif(not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"),
                    reason="the embedded default's SQLite file")
def test_worker_processes_share_one_sliding_window():
    """Three processes spend one realm's budget at once: in no window do they pass more
    calls together than the limit (each with a budget of its own would pass three
    times as many)."""
    limit, window, calls, procs = 3, 1, 4, 3
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=spend, args=("r1", calls, limit, window, start, out))
               for _ in range(procs)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    start.set()
    results = [out.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    stamps = sorted(t for _pid, logged in results for t in logged)
    assert len(stamps) == calls * procs
    assert all(len(logged) == calls for _pid, logged in results)  # every process went
    for first in stamps:
        in_window = [t for t in stamps if first <= t < first + window]
        assert len(in_window) <= limit, (first, in_window)
    # Paced, not refused: 12 calls at 3 a second span at least three windows.
    assert stamps[-1] - stamps[0] >= (calls * procs / limit - 1) * window


def test_a_spent_budget_names_the_exact_moment_it_frees(clock):
    t0 = clock[0]
    with limits(RATE_LIMIT_PER_MINUTE=3, RATE_LIMIT_MAX_WAIT=1):
        for step in (0, 1, 2):
            clock[0] = t0 + step
            with throttle.budget("r1"):
                pass
        clock[0] = t0 + 10
        with pytest.raises(BudgetSpent) as info:
            with throttle.budget("r1"):
                pass
    # When the first of the three is a minute (and the app's margin) old.
    assert info.value.retry_at == t0 + 60 + throttle.WINDOW_MARGIN_SECONDS
    assert info.value.retry_after == 50 + throttle.WINDOW_MARGIN_SECONDS


def test_a_short_wait_is_waited_out_to_the_moment(clock, monkeypatch):
    slept: list[float] = []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(time, "sleep", sleep)
    t0 = clock[0]
    with limits(RATE_LIMIT_PER_MINUTE=1, RATE_LIMIT_MAX_WAIT=5):
        with throttle.budget("r1"):
            pass
        clock[0] = t0 + 57 + throttle.WINDOW_MARGIN_SECONDS
        with throttle.budget("r1"):  # 3 s away: it waits, not fails
            pass
    assert slept == [pytest.approx(3)]


def test_a_lease_of_a_killed_worker_expires(clock):
    storage = DatabaseStorage("qbo-sync-db://default")
    held = storage.acquire_lease("inflight/r1", 2, ttl=70)
    assert storage.acquire_lease("inflight/r1", 2, ttl=70) is not None
    assert storage.acquire_lease("inflight/r1", 2, ttl=70) is None  # both slots taken
    assert storage.acquire_lease("inflight/r2", 2, ttl=70) is not None  # per realm
    storage.release_lease(held)
    assert storage.acquire_lease("inflight/r1", 2, ttl=70) is not None  # given back
    # Both holders die without giving theirs back: the slots free when the leases end.
    clock[0] += 69
    assert storage.acquire_lease("inflight/r1", 2, ttl=70) is None
    clock[0] += 2
    assert storage.acquire_lease("inflight/r1", 2, ttl=70) is not None


def test_in_flight_slots_are_leases_in_the_database(clock):
    with limits(MAX_CONCURRENT=1, RATE_LIMIT_MAX_WAIT=0, TIMEOUT=(5, 60)):
        with throttle.budget("r1"):
            with pytest.raises(BudgetSpent) as info:
                with throttle.budget("r1"):
                    pass
            assert info.value.retry_at == clock[0] + throttle.SLOT_RETRY
        with throttle.budget("r1"):  # the slot came back when the call ended
            pass


def test_429s_are_counted_per_realm():
    throttle.record_throttled("r1")
    throttle.record_throttled("r1")
    assert (throttle.throttled_count("r1"), throttle.throttled_count("r2")) == (2, 0)


def test_a_refused_call_takes_no_unit_of_any_budget(monkeypatch):
    """A batch call refused for want of a plain request gives its batch unit back (both
    are taken in one transaction), so refusals never eat into the batch budget."""
    monkeypatch.setattr(throttle, "BATCH_PER_MINUTE", 5)
    with limits(RATE_LIMIT_PER_MINUTE=1, RATE_LIMIT_MAX_WAIT=0):
        with throttle.budget("r1"):
            pass
        for _ in range(3):
            with pytest.raises(BudgetSpent):
                with throttle.budget("r1", batch=True):
                    pass
    limiter = throttle._limiter(throttle.storage_uri())
    stats = limiter.get_window_stats(throttle._item(5), "qbo_sync", "batch", "r1")
    assert stats.remaining == 5
