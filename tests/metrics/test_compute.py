"""Each metric over fixed data (tests/metrics/support.py), asserted exactly."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from qbo_sync.metrics.compute import percentile, workspace_metrics
from qbo_sync.metrics.errors import error_group
from qbo_sync.metrics.windows import window, window_error

from .support import NOW, ago, books

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(db: Any) -> dict[str, Any]:
    return books()


def test_success_and_error_rates_per_workspace(data: dict) -> None:
    m = workspace_metrics("acme", "24h", now=NOW)
    # 4 invoice creates (1 differs) + 1 pulled payment succeeded; 1 failed, 1 parked;
    # the skipped contact is left out of the rates.
    assert m["jobs"] == {"succeeded": 5, "differs": 1, "failed": 1, "parked": 1,
                         "skipped": 1, "success_rate": 0.7143, "error_rate": 0.2857}
    assert (m["window"], m["since"], m["until"]) == ("24h", ago(hours=24), NOW)
    hour = workspace_metrics("acme", "1h", now=NOW)["jobs"]
    assert (hour["succeeded"], hour["failed"], hour["success_rate"]) == (4, 0, 1.0)
    other = workspace_metrics("other", "24h", now=NOW)["jobs"]
    assert (other["succeeded"], other["failed"], other["error_rate"]) == (0, 1, 1.0)


def test_per_entity_and_action(data: dict) -> None:
    rows = {(r["direction"], r["entity"], r["action"]): r
            for r in workspace_metrics("acme", "24h", now=NOW)["by_entity"]}
    assert set(rows) == {("push", "invoice", "create"), ("push", "invoice", "update"),
                         ("push", "contact", "create"), ("pull", "payment", "pull_payment")}
    create = rows["push", "invoice", "create"]
    assert (create["succeeded"], create["differs"], create["retries"]) == (4, 1, 1)
    assert create["latency"] == {"p50_seconds": 20.0, "p95_seconds": 100.0, "samples": 4}
    update = rows["push", "invoice", "update"]
    assert (update["failed"], update["error_rate"], update["retries"]) == (1, 1.0, 1)
    assert update["latency"]["samples"] == 0 and update["latency"]["p50_seconds"] is None
    contact = rows["push", "contact", "create"]
    assert (contact["parked"], contact["skipped"], contact["success_rate"]) == (1, 1, 0.0)
    assert "latency" not in rows["pull", "payment", "pull_payment"]


def test_errors_by_code_and_kind_and_retries(data: dict) -> None:
    m = workspace_metrics("acme", "24h", now=NOW)
    assert m["errors"] == {"total": 4, "by_code": {"6240": 2, "none": 2},
                           "by_kind": {"validation": 2, "reconnect": 1, "transient": 1}}
    assert m["retries"] == 2
    hour = workspace_metrics("acme", "1h", now=NOW)
    assert hour["errors"] == {"total": 1, "by_code": {"none": 1},
                              "by_kind": {"transient": 1}}
    assert hour["retries"] == 1


def test_push_latency_percentiles(data: dict) -> None:
    # Pushes that succeeded: 10, 20, 40, 100 s in the last day; 1000 s two days ago.
    assert workspace_metrics("acme", "24h", now=NOW)["push_latency"] == {
        "p50_seconds": 20.0, "p95_seconds": 100.0, "samples": 4}
    assert workspace_metrics("acme", "7d", now=NOW)["push_latency"] == {
        "p50_seconds": 40.0, "p95_seconds": 1000.0, "samples": 5}


def test_pull_lag_and_queue(data: dict) -> None:
    m = workspace_metrics("acme", "24h", now=NOW)
    assert m["pull"] == {"cursor": ago(minutes=15), "lag_seconds": 900,
                         "connection": "connected"}
    assert m["queue"] == {"depth": 3, "pending": 2, "due": 1, "running": 1, "parked": 1,
                          "oldest_waiting_since": ago(hours=3),
                          "oldest_waiting_age_seconds": 3 * 3600,
                          "oldest_waiting_job": data["oldest"].pk}
    # The parked contact waits for a reconnect, not for a worker: apart from the depth.
    assert workspace_metrics("other", "1h", now=NOW)["pull"]["lag_seconds"] is None


def test_calls_by_kind_and_source_and_the_peak_minute(data: dict) -> None:
    m = workspace_metrics("acme", "24h", now=NOW)
    assert m["calls"] == {"total": 10,
                          "by_kind": {"cdc": 4, "write": 3, "read": 2, "query": 1},
                          "by_source": {"job": 6, "pull": 4},
                          "peak_per_minute": 5, "limit_per_minute": 500}
    # The week adds the 100 writes of two days ago and the 1,000 reconciliation reads
    # of 30 November.
    week = workspace_metrics("acme", "7d", now=NOW)["calls"]
    assert (week["total"], week["by_source"]) == (1110, {"reconcile": 1000, "job": 106,
                                                          "pull": 4})


def test_metered_reads_this_month_against_the_budget(data: dict) -> None:
    # This month: 2 reads + 1 query + 4 CDC; the 1,000 reads of 30 November do not count.
    reads = workspace_metrics("acme", "1h", now=NOW)["metered_reads"]
    assert reads == {"month": "2026-12", "reads": 7, "budget": 500_000, "used": 0.0}
    with override_settings(QBO_SYNC={"METERED_READS_PER_MONTH": 100}):
        reads = workspace_metrics("acme", "1h", now=NOW)["metered_reads"]
    assert (reads["budget"], reads["used"]) == (100, 0.07)


def test_cost_per_successful_sync(data: dict) -> None:
    # 6 calls by jobs for 5 successful syncs in the day; the pull's CDC is not a job's.
    assert workspace_metrics("acme", "24h", now=NOW)["cost"] == {
        "job_calls": 6, "successful_syncs": 5, "calls_per_successful_sync": 1.2}
    week = workspace_metrics("acme", "7d", now=NOW)["cost"]
    assert week == {"job_calls": 106, "successful_syncs": 6,
                    "calls_per_successful_sync": 17.67}
    assert workspace_metrics("other", "24h", now=NOW)["cost"][
        "calls_per_successful_sync"] is None


def test_a_workspace_without_anything() -> None:
    m = workspace_metrics("nobody", "30d", now=NOW)
    assert m["jobs"]["success_rate"] is None and m["by_entity"] == []
    assert m["queue"]["depth"] == 0 and m["queue"]["oldest_waiting_job"] is None
    assert m["pull"]["connection"] == "not_connected" and m["calls"]["total"] == 0


def test_windows_and_percentiles() -> None:
    assert window_error("24h") == ""
    assert "1h, 24h, 7d, 30d" in window_error("2d")
    with pytest.raises(ValueError, match="use one of them"):
        window("week", now=NOW)
    win = window("1h", now=NOW)
    assert len(win.bucket_starts()) == 12 and win.bucket_of(ago(minutes=1)) == 11
    assert win.bucket_of(NOW) is None and win.bucket_of(ago(hours=1)) == 0
    assert percentile([], 50) is None
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0 and percentile([5.0], 95) == 5.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


def test_error_groups_follow_the_exception_classes() -> None:
    assert error_group("DuplicateNameError") == "validation"
    assert error_group("BudgetSpent") == "transient"
    assert error_group("TokenRefreshFailed") == "reconnect"
    assert error_group("StaleObjectError") == "stale"
    assert error_group("SettingsError") == "configuration"
    assert error_group("NoSuchError") == "other"
