"""A 429 from QuickBooks: backed off as QBO asks (its Retry-After when it sends one,
else at least 60 s, docs/qbo-rules.md §3) and counted per realm for the metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from qbo_sync import exceptions as exc
from qbo_sync.qbo import throttle
from qbo_sync.qbo.faults import retry_after
from qbo_sync.sync.engine import backoff

from .test_client_faults import (  # noqa: F401 - fixtures
    API,
    THROTTLE_XML,
    fake_oauth,
    http,
    offline_client,
)

URL = f"{API}/v3/company/123/customer/1"


def test_a_429_carries_qbos_retry_after_and_is_counted(fake_oauth, http):  # noqa: F811
    before = throttle.throttled_count("123")
    http.get(URL, status=429, body=THROTTLE_XML, headers={"Retry-After": "7"})
    with pytest.raises(exc.Throttled) as info:
        offline_client().read("customer", "1")
    assert info.value.retry_after == 7.0
    assert throttle.throttled_count("123") == before + 1
    assert throttle.throttled_count("456") == 0
    assert all(7.0 <= backoff(1, info.value) <= 7.7 for _ in range(50))  # never sooner


def test_a_429_without_retry_after_waits_at_least_a_minute(fake_oauth, http):  # noqa: F811
    http.get(URL, status=429, body=THROTTLE_XML)
    with pytest.raises(exc.Throttled) as info:
        offline_client().read("customer", "1")
    assert info.value.retry_after is None
    assert all(backoff(1, info.value) >= 54 for _ in range(50))


def test_retry_after_reads_seconds_and_http_dates():
    assert retry_after("120") == 120.0
    assert retry_after(" 1.5 ") == 1.5
    soon = datetime.now(UTC) + timedelta(seconds=30)
    assert 28 <= retry_after(format_datetime(soon, usegmt=True)) <= 30
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # already past
    assert retry_after("-5") == 0.0
    for unreadable in (None, "", "soon", "nan", "inf"):
        assert retry_after(unreadable) is None
