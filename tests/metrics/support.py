"""Fixed data for the metrics tests: jobs, tries and call counts with known timestamps,
so every figure can be asserted exactly (README, "Metrics" defines each)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from qbo_sync.models import ApiCallCount, Connection, SyncAttempt, SyncJob

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
S = SyncJob.Status


def ago(**kw: float) -> datetime:
    return NOW - timedelta(**kw)


def job(workspace: str, entity: str, action: str, status: str, *, finished: datetime | None,
        latency: float = 0, created: datetime | None = None, direction: str = "push",
        tries: list[dict[str, Any] | None] = (), conn: Connection | None = None,
        **fields: Any) -> SyncJob:
    """A job finished at ``finished`` and created ``latency`` seconds before, with one
    ``SyncAttempt`` per entry of ``tries`` (None: a good try; a dict: the stored error),
    the tries a minute apart and the last one ending at ``finished``."""
    created = created or (finished - timedelta(seconds=latency))
    row = SyncJob.objects.create(workspace=workspace, connection=conn, entity=entity,
                                 action=action, direction=direction, status=status,
                                 finished_at=finished, attempts=len(tries), **fields)
    SyncJob.objects.filter(pk=row.pk).update(created_at=created)  # auto_now_add
    for number, error in enumerate(tries, start=1):
        end = finished - timedelta(minutes=len(tries) - number)
        SyncAttempt.objects.create(job=row, number=number, started_at=end - timedelta(seconds=1),
                                   finished_at=end, ok=error is None, error=error or {})
    row.refresh_from_db()
    return row


DUPLICATE = {"type": "DuplicateNameError", "code": "6240", "message": "Duplicate Name"}
RECONNECT = {"type": "ReconnectRequired", "code": "", "message": "Not connected"}
NETWORK = {"type": "NetworkError", "code": "", "message": "timed out"}


def calls(conn: Connection, minute: datetime, kind: str, source: str, count: int) -> None:
    ApiCallCount.objects.create(connection=conn, minute=minute, kind=kind, source=source,
                                count=count)


def books() -> dict[str, Any]:
    """Workspace "acme" with a known day of syncs, and "other" that must not leak in."""
    acme = Connection.objects.create(workspace="acme", realm_id="111", status="connected",
                                     cdc_cursor=ago(minutes=15))
    other = Connection.objects.create(workspace="other", realm_id="222", status="connected")
    made: dict[str, Any] = {"acme": acme, "other": other}
    # Four pushed invoice creates in the last hour (one with totals differing, one that
    # needed a second try after a timeout), latencies 10, 20, 100 and 40 s.
    for latency, status, tries in ((10, S.SUCCEEDED, [None]), (20, S.SUCCEEDED, [None]),
                                   (100, S.SUCCEEDED, [NETWORK, None]),
                                   (40, S.DIFFERS, [None])):
        job("acme", "invoice", "create", status, finished=ago(minutes=50), latency=latency,
            tries=tries, conn=acme)
    # An update that failed twice on a duplicate name, two hours ago.
    job("acme", "invoice", "update", S.FAILED, finished=ago(hours=2), latency=300,
        tries=[DUPLICATE, DUPLICATE], conn=acme)
    # A contact parked for a reconnect, one skipped, five hours ago.
    job("acme", "contact", "create", S.PARKED, finished=ago(hours=5), tries=[RECONNECT],
        conn=acme)
    job("acme", "contact", "create", S.SKIPPED, finished=ago(hours=5), tries=[None],
        conn=acme)
    # A pulled payment three hours ago (not a push: no latency sample).
    job("acme", "payment", "pull_payment", S.SUCCEEDED, finished=ago(hours=3), latency=60,
        direction="pull", tries=[None], conn=acme)
    # Two days ago: a slow push, outside 24 h, inside 7 d.
    job("acme", "invoice", "create", S.SUCCEEDED, finished=ago(days=2), latency=1000,
        tries=[None], conn=acme)
    # Waiting now: one due since 3 h, one not due yet, one running.
    made["oldest"] = job("acme", "invoice", "create", S.PENDING, finished=None,
                         created=ago(hours=3), next_attempt_at=ago(minutes=1), conn=acme)
    job("acme", "invoice", "create", S.PENDING, finished=None, created=ago(minutes=30),
        next_attempt_at=NOW + timedelta(minutes=5), conn=acme)
    job("acme", "contact", "update", S.RUNNING, finished=None, created=ago(minutes=10),
        conn=acme)
    # Another workspace's failure and calls.
    job("other", "invoice", "create", S.FAILED, finished=ago(hours=1), tries=[DUPLICATE],
        conn=other)
    calls(other, ago(minutes=30), "write", "job", 50)
    # Calls: two busy minutes half an hour ago, a batch of writes two days ago, and reads
    # last month (outside this month's metered count).
    calls(acme, ago(minutes=30), "write", "job", 3)
    calls(acme, ago(minutes=30), "read", "job", 2)
    calls(acme, ago(minutes=29), "query", "job", 1)
    calls(acme, ago(minutes=29), "cdc", "pull", 4)
    calls(acme, ago(days=2), "write", "job", 100)
    calls(acme, datetime(2026, 11, 30, 12, 0, tzinfo=UTC), "read", "reconcile", 1000)
    return made
