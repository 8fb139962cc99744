"""The dashboard's time series over fixed data (tests/metrics/support.py)."""

from __future__ import annotations

from typing import Any

import pytest

from qbo_sync.metrics import series
from qbo_sync.metrics.windows import window
from qbo_sync.models import Difference, ReconciliationRun

from .support import NOW, ago, books, calls

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(db: Any) -> dict[str, Any]:
    return books()


def test_outcomes_per_bucket(data: dict) -> None:
    day = window("24h", now=NOW)  # 24 hourly buckets; bucket 23 is the last hour
    found = series.outcomes(day, "acme")
    assert found["succeeded"][23] == 4 and found["succeeded"][21] == 1  # pull, 3 h ago
    assert found["failed"][22] == 1 and found["failed"][19] == 1  # failed 2 h, parked 5 h
    assert sum(found["succeeded"]) == 5 and sum(found["failed"]) == 2


def test_latency_per_bucket(data: dict) -> None:
    week = window("7d", now=NOW)  # 6-hour buckets
    found = series.latency(week, "acme")
    assert found["p50"][27] == 20.0 and found["p95"][27] == 100.0
    two_days = week.bucket_of(ago(days=2))
    assert found["p50"][two_days] == 1000.0
    assert sum(v is not None for v in found["p50"]) == 2


def test_queue_depth_rebuilt_from_the_jobs_times(data: dict) -> None:
    hour = window("1h", now=NOW)  # 12 buckets of 5 minutes
    depth = series.queue_depth(hour, "acme")
    # At each 5-minute mark: the job pending since 3 h ago all along; the one written at
    # 11:30 from 11:35 on; the running one (11:50) from 11:55 on. The four invoices
    # written at 11:08–11:09 were confirmed at 11:10 exactly: done at that mark.
    assert depth == [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3]


def test_busiest_minute_per_bucket(data: dict) -> None:
    hour = window("1h", now=NOW)
    calls(data["acme"], ago(minutes=28), "write", "job", 9)
    peaks = series.calls_per_minute(hour, "acme")
    # 11:30 and 11:31 had 5 each, 11:32 had 9: one bucket (11:30–11:35), peak 9.
    assert peaks[6] == 9 and sum(peaks) == 9


def test_reconciliation_findings(data: dict) -> None:
    acme = data["acme"]
    first = ReconciliationRun.objects.create(connection=acme, status="done",
                                             counts={"edited": 2, "missing": 1}, ignored=1,
                                             finished_at=ago(days=1))
    ReconciliationRun.objects.create(connection=acme, status="done", counts={},
                                     finished_at=ago(hours=1))
    ReconciliationRun.objects.create(connection=acme, status="running")
    for kind, state in (("edited", "open"), ("edited", "open"), ("missing", "ignored")):
        Difference.objects.create(run=first, connection=acme, kind=kind, entity="invoice",
                                  explanation="x", fingerprint=kind, state=state)
    found = series.reconciliation("acme")
    assert [(r["found"], r["ignored"]) for r in found["runs"]] == [(3, 1), (0, 0)]
    assert found["open"] == {"edited": 2}
    assert series.reconciliation("nobody") == {"runs": [], "open": {}}
