"""Retention: old rows removed, and old payloads emptied, in small batches.

How long each kind is kept is ``QBO_SYNC["RETENTION_DAYS"]`` (README, "Retention"):

- ``webhook_events``: stored deliveries (:class:`~qbo_sync.models.WebhookEvent`) and
  the daily counts of refused ones (:class:`~qbo_sync.models.WebhookRejection`);
- ``seen_events``: the deduplication keys of events already processed
  (:class:`~qbo_sync.models.SeenEvent`; an event older than this that came again would
  cause one more CDC read, which changes nothing: pull jobs are deduplicated too);
- ``job_payloads``: the masked payload and response of finished jobs (the job row, its
  status and message stay; a retry rebuilds what it sends, and a pull re-reads QBO);
- ``attempts``: the per-try log of jobs (:class:`~qbo_sync.models.SyncAttempt`), and
  the per-minute counts of QuickBooks calls (:class:`~qbo_sync.models.ApiCallCount`),
  which are kept at least from the start of the calendar month, the metering month.

Every statement touches at most :data:`BATCH` rows chosen by primary key, each batch
in its own transaction, so no lock is held for long and no single DELETE or UPDATE
runs over a huge table. Only rows, never the host's data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from ..conf import app_settings, retention_problems
from ..exceptions import ConfigurationError
from ..models import (
    ApiCallCount,
    SeenEvent,
    SyncAttempt,
    SyncJob,
    WebhookEvent,
    WebhookRejection,
)

#: Rows per statement.
BATCH = 1000
#: Job states that are final: their payload is history, not input.
FINISHED = (SyncJob.Status.SUCCEEDED, SyncJob.Status.DIFFERS, SyncJob.Status.SKIPPED,
            SyncJob.Status.FAILED)


@dataclass(frozen=True)
class Rule:
    """One kind of record: its setting, its rows past the cutoff, and what is done."""

    name: str  # the RETENTION_DAYS key
    label: str  # what the summary calls the rows
    rows: Callable[[Any], models.QuerySet]  # cutoff → the rows due
    clear: dict[str, Any] | None = None  # None: delete the rows; else: update them so


RULES = (
    Rule("webhook_events", "webhook deliveries",
         lambda cutoff: WebhookEvent.objects.filter(received_at__lt=cutoff)),
    Rule("webhook_events", "daily counts of refused webhook deliveries",
         lambda cutoff: WebhookRejection.objects.filter(day__lt=cutoff.date())),
    Rule("seen_events", "webhook event keys",
         lambda cutoff: SeenEvent.objects.filter(seen_at__lt=cutoff)),
    Rule("job_payloads", "payloads of finished jobs",
         # created_at is indexed and never later than finished_at: it narrows the scan.
         lambda cutoff: SyncJob.objects.filter(
             created_at__lt=cutoff, finished_at__lt=cutoff, status__in=FINISHED,
         ).filter(~Q(payload={}) | ~Q(response={})),
         clear={"payload": {}, "response": {}}),
    Rule("attempts", "job attempts",
         lambda cutoff: SyncAttempt.objects.filter(started_at__lt=cutoff)),
    Rule("attempts", "QuickBooks call counts",
         lambda cutoff: ApiCallCount.objects.filter(
             minute__lt=min(cutoff, _metering_month_start()))),
)


def _metering_month_start() -> datetime:
    """This calendar month's start in UTC: the month's metered reads are counted from
    these rows (``qbo_sync.metrics``), so none of them is pruned before the month ends."""
    now = timezone.now().astimezone(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def retention_days() -> dict[str, int]:
    """The configured days per kind; :class:`ConfigurationError` naming the problem
    when a value is not a positive whole number (also system check qbo_sync.E008)."""
    value = app_settings.RETENTION_DAYS
    problems = retention_problems(value)
    if problems:
        raise ConfigurationError("QBO_SYNC['RETENTION_DAYS'] " + " ".join(problems),
                                 fix="Give each kind a whole number of days, 1 or more.")
    return dict(value)


def prune(*, dry_run: bool = False, batch: int = BATCH,
          progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Remove (or, for job payloads, empty) what is older than its retention; returns
    how many rows each rule touched, by label (``dry_run``: how many it would).

    ``progress(label, done_so_far)`` is called after every batch.
    """
    days = retention_days()
    now = timezone.now()
    summary: dict[str, int] = {}
    for rule in RULES:
        rows = rule.rows(now - timedelta(days=days[rule.name]))
        summary[rule.label] = rows.count() if dry_run else _in_batches(
            rule, rows, batch, progress)
    return summary


def _in_batches(rule: Rule, rows: models.QuerySet, batch: int,
                progress: Callable[[str, int], None] | None) -> int:
    done, after = 0, 0
    while True:
        # Keyset by primary key: each batch starts where the last one ended, so rows
        # already done (or emptied) are never scanned again in this run.
        ids = list(rows.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return done
        after = ids[-1]
        with transaction.atomic():
            chosen = rows.filter(pk__in=ids)  # still due: a job retried meanwhile is not
            if rule.clear is None:
                done += chosen.delete()[1].get(rows.model._meta.label, 0)
            else:
                done += chosen.update(**rule.clear)
        if progress is not None:
            progress(rule.label, done)
