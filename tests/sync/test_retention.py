"""Retention (QBO_SYNC["RETENTION_DAYS"]): old webhook deliveries, event keys, job
payloads and attempts go, in batches of bounded size; recent ones and unfinished jobs
stay; the command prints what it removed; the daily task calls the same service."""

from __future__ import annotations

import re
from datetime import date, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from qbo_sync import tasks
from qbo_sync.conf import app_settings
from qbo_sync.exceptions import ConfigurationError
from qbo_sync.models import SeenEvent, SyncAttempt, SyncJob, WebhookEvent, WebhookRejection
from qbo_sync.sync import retention

pytestmark = pytest.mark.django_db


def ago(days: int):
    return timezone.now() - timedelta(days=days)


def make_world(old: int = 5, new: int = 2) -> None:
    """``old`` rows of every kind past their default retention, ``new`` within it."""
    for n, days in ((old, 120), (new, 1)):
        events = [WebhookEvent.objects.create(body="[]", verified=True) for _ in range(n)]
        WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(
            received_at=ago(days))
        for i, event in enumerate(events):
            SeenEvent.objects.create(key=f"k-{days}-{i}", webhook=event, seen_at=ago(days))
        WebhookRejection.objects.create(day=ago(days).date(), reason="unsigned", count=3)
        for i in range(n):
            job = SyncJob.objects.create(
                workspace="default", entity="invoice", action="sync",
                status=SyncJob.Status.SUCCEEDED, finished_at=ago(days),
                payload={"PrimaryEmailAddr": {"Address": "***@example.com"}},
                response={"Invoice": {"Id": str(i)}})
            SyncJob.objects.filter(pk=job.pk).update(created_at=ago(days))
            SyncAttempt.objects.create(job=job, number=1, started_at=ago(days),
                                       finished_at=ago(days), ok=True)


def counts() -> dict[str, int]:
    return {
        "events": WebhookEvent.objects.count(), "keys": SeenEvent.objects.count(),
        "rejections": WebhookRejection.objects.count(), "attempts": SyncAttempt.objects.count(),
        "payloads": SyncJob.objects.exclude(payload={}).count(),
        "responses": SyncJob.objects.exclude(response={}).count(),
        "jobs": SyncJob.objects.count(),
    }


def test_prune_removes_what_is_past_its_retention_and_keeps_the_rest():
    make_world(old=5, new=2)
    summary = retention.prune()
    assert summary == {
        "webhook deliveries": 5, "daily counts of refused webhook deliveries": 1,
        "webhook event keys": 5, "payloads of finished jobs": 5, "job attempts": 5,
        "QuickBooks call counts": 0,
    }
    assert counts() == {"events": 2, "keys": 2, "rejections": 1, "attempts": 2,
                        "payloads": 2, "responses": 2, "jobs": 7}  # job rows stay
    assert retention.prune() == dict.fromkeys(summary, 0)  # nothing left to do


def test_each_kind_has_its_own_retention():
    make_world(old=3, new=0)
    days = {"webhook_events": 200, "seen_events": 100, "job_payloads": 30, "attempts": 365}
    with override_settings(QBO_SYNC={**app_settings.user_settings, "RETENTION_DAYS": days}):
        summary = retention.prune()
    assert summary["webhook deliveries"] == 0 and summary["webhook event keys"] == 3
    assert summary["payloads of finished jobs"] == 3 and summary["job attempts"] == 0


def test_unfinished_jobs_keep_their_payload():
    make_world(old=0, new=0)
    for status in (SyncJob.Status.PENDING, SyncJob.Status.RUNNING, SyncJob.Status.PARKED):
        job = SyncJob.objects.create(workspace="default", entity="invoice", action="sync",
                                     status=status, payload={"a": "1"})
        SyncJob.objects.filter(pk=job.pk).update(created_at=ago(400))
    assert retention.prune()["payloads of finished jobs"] == 0
    assert SyncJob.objects.exclude(payload={}).count() == 3


def test_deleting_a_delivery_keeps_its_keys_within_their_retention():
    event = WebhookEvent.objects.create(body="[]", verified=True)
    WebhookEvent.objects.filter(pk=event.pk).update(received_at=ago(40))
    SeenEvent.objects.create(key="k", webhook=event, seen_at=ago(40))
    retention.prune()
    assert not WebhookEvent.objects.exists()
    assert SeenEvent.objects.get().webhook_id is None  # still deduplicates


def test_no_statement_touches_more_than_a_batch():
    make_world(old=25, new=0)
    with CaptureQueriesContext(db_connection) as queries:
        summary = retention.prune(batch=10)
    assert summary["job attempts"] == 25
    writes = [q["sql"] for q in queries.captured_queries
              if q["sql"].startswith(("DELETE", "UPDATE"))]
    assert writes
    for sql in writes:
        assert " IN (" in sql, sql  # by primary key, never an open-ended range
        in_list = sql[sql.index(" IN (") + 5:].split(")")[0]
        assert in_list.count(",") < 10, sql
    # 25 rows of each kind at 10 a batch: 3 batches each (plus SET NULL on the keys).
    selects = [q for q in queries.captured_queries
               if re.search(r"LIMIT 10\b", q["sql"]) and "qbo_sync_syncattempt" in q["sql"]]
    assert len(selects) == 4  # 10 + 10 + 5, then an empty batch


def test_dry_run_counts_and_changes_nothing():
    make_world(old=4, new=1)
    before = counts()
    summary = retention.prune(dry_run=True)
    assert summary["webhook deliveries"] == 4 and summary["payloads of finished jobs"] == 4
    assert counts() == before


def test_the_command_prints_progress_and_a_summary():
    make_world(old=3, new=1)
    out = StringIO()
    call_command("qbo_sync_prune", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Retention: webhook_events 30 days, seen_events 90 days" in text
    assert "webhook deliveries: would remove 3" in text
    assert "payloads of finished jobs: would empty 3" in text
    assert WebhookEvent.objects.count() == 4

    out = StringIO()
    call_command("qbo_sync_prune", "--batch-size", "2", stdout=out)
    text = out.getvalue()
    assert "  webhook deliveries: 2…" in text and "  webhook deliveries: 3…" in text
    assert "webhook deliveries: removed 3" in text
    assert "payloads of finished jobs: emptied 3" in text
    assert "Done: 13 row(s) pruned." in text
    assert WebhookEvent.objects.count() == 1


def test_the_command_and_the_service_refuse_a_bad_retention():
    bad = {**app_settings.user_settings, "RETENTION_DAYS": {"attempts": 0}}
    make_world(old=1, new=0)
    with override_settings(QBO_SYNC=bad):
        with pytest.raises(CommandError, match=r"\['attempts'\] must be a whole number"):
            call_command("qbo_sync_prune", stdout=StringIO())
        with pytest.raises(ConfigurationError):
            tasks.prune()
    assert SyncAttempt.objects.count() == 1  # nothing removed


def test_the_daily_task_prunes():
    make_world(old=2, new=0)
    assert tasks.prune()["job attempts"] == 2


def test_refused_delivery_counts_go_with_the_webhook_retention():
    WebhookRejection.objects.create(day=date.today() - timedelta(days=31), reason="unsigned")
    WebhookRejection.objects.create(day=date.today() - timedelta(days=29), reason="unsigned")
    assert retention.prune()["daily counts of refused webhook deliveries"] == 1


def test_call_counts_go_with_the_attempts_but_never_within_the_metering_month():
    from datetime import UTC, datetime

    from qbo_sync.models import ApiCallCount, Connection

    conn = Connection.objects.create(workspace="default", realm_id="1")
    now = datetime(2026, 12, 20, 12, 0, tzinfo=UTC)
    for minute in (datetime(2026, 12, 1, 0, 0, tzinfo=UTC), datetime(2026, 11, 30, 23, 59,
                                                                     tzinfo=UTC)):
        ApiCallCount.objects.create(connection=conn, minute=minute, kind="read", count=1)
    days = {**app_settings.RETENTION_DAYS, "attempts": 1}
    with override_settings(QBO_SYNC={**app_settings.user_settings, "RETENTION_DAYS": days}), \
            mock.patch("qbo_sync.sync.retention.timezone.now", return_value=now):
        assert retention.prune()["QuickBooks call counts"] == 1
    assert list(ApiCallCount.objects.values_list("minute", flat=True)) == [
        datetime(2026, 12, 1, 0, 0, tzinfo=UTC)]
