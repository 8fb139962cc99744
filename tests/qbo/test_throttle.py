"""The client-side per-realm budget (docs/qbo-rules.md §3) holds calls back before QBO has to."""

import threading
import time

import pytest
from django.test import override_settings

from example_project.settings import QBO_SYNC
from qbo_sync.exceptions import Throttled
from qbo_sync.qbo import throttle


def limits(**kw):
    return override_settings(QBO_SYNC={**QBO_SYNC, **kw})


@pytest.fixture(autouse=True)
def same_minute(monkeypatch):
    """Pin the clock mid-minute so a window boundary cannot fall inside a test."""
    monkeypatch.setattr(throttle, "_now", lambda: 1_800_000_030.0)


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
