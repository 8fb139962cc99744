"""Each alert rule, firing and not firing, over fixed data."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from qbo_sync.alerts import rules
from qbo_sync.alerts.config import alert_settings
from qbo_sync.alerts.service import find
from qbo_sync.models import Connection, Difference, SyncJob

from .support import alerts, connection, job, jobs, reconciliation

pytestmark = pytest.mark.django_db


def _rule(key: str, **config):
    """The findings (or Unknown) of one rule for workspace "default" now."""
    with alerts(**config):
        ctx = rules.Context("default", Connection.objects.filter(workspace="default").first(),
                            timezone.now(), alert_settings())
        return rules.RULES[key](ctx)


# Failure rate ----------------------------------------------------------------------


def test_failure_rate_fires_above_the_threshold_with_enough_jobs():
    conn = connection()
    jobs(conn, succeeded=7, failed=3, finished=timezone.now() - timedelta(minutes=5))
    [found] = _rule("failure_rate", FAILURE_RATE_PERCENT=20, FAILURE_RATE_MIN_JOBS=10)
    assert found.title == "30 % of syncs failed in the last 60 min"
    assert "3 of 10 sync jobs" in found.detail and "threshold is 20 %" in found.detail


def test_failure_rate_at_the_threshold_does_not_fire():
    conn = connection()
    jobs(conn, succeeded=8, failed=2, finished=timezone.now() - timedelta(minutes=5))
    assert _rule("failure_rate", FAILURE_RATE_PERCENT=20) == []


def test_one_failure_of_one_job_does_not_page():
    conn = connection()
    jobs(conn, succeeded=0, failed=1, finished=timezone.now())
    assert _rule("failure_rate", FAILURE_RATE_MIN_JOBS=10) == []
    assert len(_rule("failure_rate", FAILURE_RATE_MIN_JOBS=1)) == 1


def test_failure_rate_counts_only_the_window_and_finished_jobs():
    conn = connection()
    jobs(conn, succeeded=0, failed=10, finished=timezone.now() - timedelta(minutes=90))
    jobs(conn, succeeded=10, failed=0, finished=timezone.now() - timedelta(minutes=10))
    job(conn, SyncJob.Status.PENDING, object_id="p")  # not finished: not counted
    assert _rule("failure_rate", FAILURE_RATE_WINDOW_MINUTES=60) == []
    [found] = _rule("failure_rate", FAILURE_RATE_WINDOW_MINUTES=120)
    assert "10 of 20" in found.detail


def test_failure_rate_is_per_workspace():
    connection()
    other = connection("uk", realm_id="4620")
    for n in range(10):
        job(other, SyncJob.Status.FAILED, finished=timezone.now(), workspace="uk",
            object_id=f"uk{n}")
    assert _rule("failure_rate") == []
    assert [f.rule for f in find("uk")[0]] == ["failure_rate"]


# Failed and unresolved ------------------------------------------------------------------


def test_a_job_failed_longer_than_n_minutes_fires_and_names_the_error():
    conn = connection()
    old = timezone.now() - timedelta(minutes=90)
    failed = job(conn, SyncJob.Status.FAILED, finished=old, created=old,
                 error_message="Business Validation Error: the item is inactive")
    [found] = _rule("failed_unresolved", FAILED_UNRESOLVED_MINUTES=60)
    assert found.title == "1 failed sync job unresolved for over 60 min"
    assert f"job #{failed.pk}: invoice create: Business Validation Error" in found.detail


def test_a_recent_failure_does_not_fire_yet():
    conn = connection()
    job(conn, SyncJob.Status.FAILED, finished=timezone.now() - timedelta(minutes=30))
    assert _rule("failed_unresolved", FAILED_UNRESOLVED_MINUTES=60) == []


def test_a_failure_made_good_by_a_later_successful_job_does_not_fire():
    conn = connection()
    old = timezone.now() - timedelta(hours=3)
    job(conn, SyncJob.Status.FAILED, finished=old, created=old, object_id="7")
    job(conn, SyncJob.Status.SUCCEEDED, finished=timezone.now(), object_id="7")
    assert _rule("failed_unresolved") == []


def test_many_failures_are_one_alert_naming_the_first_few():
    conn = connection()
    old = timezone.now() - timedelta(hours=3)
    for n in range(7):
        job(conn, SyncJob.Status.FAILED, finished=old, object_id=str(n))
    [found] = _rule("failed_unresolved")
    assert found.title.startswith("7 failed sync jobs")
    assert found.detail.count("- job #") == rules.LISTED and "…and 2 more." in found.detail


# Reconnect ----------------------------------------------------------------------------


def test_a_connection_that_needs_a_reconnect_fires_with_its_reason():
    connection(status=Connection.Status.ERROR,
               status_reason="QuickBooks refused to refresh the tokens (invalid_grant).")
    [found] = _rule("reconnect")
    assert found.subject == "9130"
    assert found.detail.startswith("QuickBooks refused to refresh the tokens (invalid_grant).")
    assert "Reconnect" in found.detail


@pytest.mark.parametrize("status", [Connection.Status.CONNECTED,
                                    Connection.Status.DISCONNECTED])
def test_connected_or_disconnected_is_no_reconnect_alert(status):
    connection(status=status)
    assert _rule("reconnect") == []


# Token chain --------------------------------------------------------------------------


def test_the_chain_within_30_days_of_its_end_fires():
    connection(refresh_token_hard_expires_at=timezone.now() + timedelta(days=20, hours=1))
    [found] = _rule("token_chain", TOKEN_CHAIN_DAYS=30)
    assert found.title == "QuickBooks connection ends in 20 days"
    assert "5 years" in found.detail and "Reconnect before then" in found.detail


def test_the_chain_further_away_does_not_fire():
    connection(refresh_token_hard_expires_at=timezone.now() + timedelta(days=31))
    assert _rule("token_chain", TOKEN_CHAIN_DAYS=30) == []


def test_without_intuits_figure_the_chain_ends_5_years_after_it_began():
    start = timezone.now() - timedelta(days=5 * 365 - 10)
    connection(refresh_token_hard_expires_at=None, refresh_chain_started_at=start)
    [found] = _rule("token_chain")
    assert f"{start.replace(year=start.year + 5):%Y-%m-%d}" in found.detail
    conn = Connection.objects.get()
    assert rules.chain_end(conn) == start.replace(year=start.year + 5)


def test_a_chain_begun_on_29_february_ends_on_28_february():
    from datetime import datetime

    conn = Connection(refresh_chain_started_at=datetime(2024, 2, 29, 9, 0, tzinfo=UTC))
    assert rules.chain_end(conn) == datetime(2029, 2, 28, 9, 0, tzinfo=UTC)


def test_an_unknown_chain_is_not_evaluated():
    connection(refresh_token_hard_expires_at=None, refresh_chain_started_at=None)
    result = _rule("token_chain")
    assert isinstance(result, rules.Unknown) and "reconnecting once" in result.reason


# Metered-read budget -------------------------------------------------------------------

COUNTS: dict[str, int] = {}


def counted_reads(workspace, since):
    assert since.day == 1 and since.hour == 0
    return COUNTS[workspace]


def test_reads_at_80_percent_of_the_budget_fire():
    connection()
    COUNTS["default"] = 400_000
    [found] = _rule("read_budget", READ_COUNT=f"{__name__}.counted_reads", READ_BUDGET=500_000)
    assert found.title == "80 % of this month's QuickBooks reads used"
    assert "400,000 of the 500,000" in found.detail


def test_reads_below_80_percent_do_not_fire():
    connection()
    COUNTS["default"] = 399_999
    assert _rule("read_budget", READ_COUNT=f"{__name__}.counted_reads") == []


def test_without_a_read_count_source_the_budget_is_not_evaluated():
    connection()
    result = _rule("read_budget", READ_COUNT=None)
    assert isinstance(result, rules.Unknown) and "READ_COUNT" in result.reason


# Reconciliation -------------------------------------------------------------------------


def test_open_differences_of_the_latest_run_fire_by_kind():
    conn = connection()
    reconciliation(conn, timezone.now() - timedelta(days=2), "missing", "missing", "totals")
    latest = reconciliation(conn, timezone.now() - timedelta(hours=1), "totals", "missing")
    Difference.objects.filter(run=latest, kind="missing").update(state=Difference.State.IGNORED)
    [found] = _rule("reconciliation")
    assert found.title == "1 open reconciliation difference"
    assert f"Reconciliation {latest.pk}" in found.detail
    assert "- Total, tax or balance differs: 1" in found.detail


def test_a_latest_run_without_open_differences_does_not_fire():
    conn = connection()
    reconciliation(conn, timezone.now() - timedelta(days=2), "missing")
    reconciliation(conn, timezone.now() - timedelta(hours=1), "totals",
                   state=Difference.State.REPAIRING)
    assert _rule("reconciliation") == []


def test_only_the_enabled_rules_run():
    connection(status=Connection.Status.ERROR)
    with alerts(RULES=["failure_rate"]):
        assert find("default") == ([], {})
    with alerts(RULES=["reconnect", "read_budget"], READ_COUNT=None):
        findings, unknown = find("default")
    assert [f.rule for f in findings] == ["reconnect"] and list(unknown) == ["read_budget"]


def test_every_rule_key_the_settings_accept_has_a_rule():
    from qbo_sync.alerts.config import RULE_KEYS

    assert tuple(rules.RULES) == RULE_KEYS


def test_by_default_the_budget_counts_the_calls_the_app_recorded():
    from qbo_sync.models import ApiCallCount

    conn = connection()
    minute = timezone.now().replace(second=0, microsecond=0)
    ApiCallCount.objects.create(connection=conn, minute=minute, kind="query", count=300)
    ApiCallCount.objects.create(connection=conn, minute=minute, kind="read", count=100)
    ApiCallCount.objects.create(connection=conn, minute=minute, kind="write", count=10_000)
    with alerts(READ_COUNT="qbo_sync.metrics.compute.reads_since", READ_BUDGET=None):
        assert _rule("read_budget") == []  # 400 of 500,000 (writes are not metered)
    with alerts(READ_COUNT="qbo_sync.metrics.compute.reads_since", READ_BUDGET=500):
        [found] = _rule("read_budget")
    assert "400 of the 500 metered reads" in found.detail
