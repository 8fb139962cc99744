"""The client-side per-realm budget (docs/qbo-rules.md §3) holds calls back before QBO has to."""

import threading
import time

import pytest
from django.test import override_settings

from example_project.settings import QBO_SYNC
from qbo_sync.exceptions import Throttled
from qbo_sync.qbo import throttle

# The default storage: the database every worker process shares (committed, so that the
# thread below sees the slot another connection holds).
pytestmark = pytest.mark.django_db(transaction=True)


def limits(**kw):
    return override_settings(QBO_SYNC={**QBO_SYNC, **kw})


def test_minute_budget_is_per_realm_and_then_refuses():
    with limits(RATE_LIMIT_PER_MINUTE=3, RATE_LIMIT_MAX_WAIT=0):
        for _ in range(3):
            with throttle.budget("r1"):
                pass
        with pytest.raises(Throttled) as info:
            with throttle.budget("r1"):
                pass
        assert info.value.code == "3001"
        with throttle.budget("r2"):  # another company has its own budget
            pass


def test_batch_calls_have_their_own_budget(monkeypatch):
    monkeypatch.setattr(throttle, "BATCH_PER_MINUTE", 2)
    with limits(RATE_LIMIT_MAX_WAIT=0):
        for _ in range(2):
            with throttle.budget("r1", batch=True):
                pass
        with pytest.raises(Throttled):
            with throttle.budget("r1", batch=True):
                pass
        with throttle.budget("r1"):  # plain calls still go
            pass


def test_in_flight_slots_are_shared_and_released():
    inside, release = threading.Event(), threading.Event()

    def hold():
        with throttle.budget("r1"):
            inside.set()
            release.wait(5)

    with limits(MAX_CONCURRENT=1, RATE_LIMIT_MAX_WAIT=0.2):
        worker = threading.Thread(target=hold)
        worker.start()
        assert inside.wait(5)
        started = time.monotonic()
        with pytest.raises(Throttled):
            with throttle.budget("r1"):
                pass
        assert time.monotonic() - started >= 0.2  # it waited before giving up
        release.set()
        worker.join(5)
        with throttle.budget("r1"):  # the slot came back
            pass


def test_disabled_budget_never_refuses():
    with limits(RATE_LIMIT_ENABLED=False, RATE_LIMIT_PER_MINUTE=0):
        with throttle.budget("r1"):
            pass


def test_the_minute_is_sliding_like_qbos_not_a_fixed_window(monkeypatch):
    """Issue 16, 9.3: calls just before a minute boundary still count just after it, so a
    burst across the boundary cannot pass twice the limit (QBO counts any 60 s)."""
    clock = [1_800_000_059.0]  # the last second of a clock minute
    monkeypatch.setattr(time, "time", lambda: clock[0])
    with limits(RATE_LIMIT_PER_MINUTE=3, RATE_LIMIT_MAX_WAIT=0):
        for _ in range(3):
            with throttle.budget("r1"):
                pass
        clock[0] += 2  # a new clock minute: a fixed window would start again here
        with pytest.raises(Throttled):
            with throttle.budget("r1"):
                pass
        # Now the first three are more than a minute (and the app's margin) old.
        clock[0] += 58.5 + throttle.WINDOW_MARGIN_SECONDS
        for _ in range(3):
            with throttle.budget("r1"):
                pass


def test_the_window_lives_in_the_redis_of_the_cache_else_in_the_database(settings):
    with limits(RATE_LIMIT_CACHE="default"):
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1"}}
        assert throttle.storage_uri() == "redis://127.0.0.1:6379/1"
        settings.CACHES = {"default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        assert throttle.storage_uri() == "qbo-sync-db://default"  # shared by processes
    with limits(RATE_LIMIT_STORAGE="redis://127.0.0.1:6379/5"):
        assert throttle.storage_uri() == "redis://127.0.0.1:6379/5"
