"""Fixed data for the alert tests: connections, jobs and reconciliation runs written
straight to the tables, at chosen times."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings
from django.utils import timezone

from qbo_sync.models import Connection, Difference, ReconciliationRun, SyncJob


@contextmanager
def alerts(**keys: Any) -> Iterator[None]:
    """The example project's QBO_SYNC with these ALERTS keys changed."""
    base = dict(settings.QBO_SYNC)
    with override_settings(QBO_SYNC={**base, "ALERTS": {**base.get("ALERTS", {}), **keys}}):
        yield


def connection(workspace: str = "default", **fields: Any) -> Connection:
    values = {"realm_id": "9130", "status": Connection.Status.CONNECTED,
              "refresh_token_hard_expires_at": timezone.now() + timedelta(days=1000)}
    return Connection.objects.create(workspace=workspace, **{**values, **fields})


def job(conn: Connection | None, status: str, *, finished: datetime | None = None,
        created: datetime | None = None, object_id: str = "1", entity: str = "invoice",
        workspace: str = "default", error_message: str = "") -> SyncJob:
    content_type = ContentType.objects.get_by_natural_key("billing", entity)
    row = SyncJob.objects.create(connection=conn, workspace=workspace, entity=entity,
                                 content_type=content_type,
                                 action="create", status=status, object_id=object_id,
                                 finished_at=finished, error_message=error_message)
    if created is not None:  # auto_now_add: set afterwards
        SyncJob.objects.filter(pk=row.pk).update(created_at=created)
        row.refresh_from_db()
    return row


def jobs(conn: Connection, *, succeeded: int, failed: int, finished: datetime) -> None:
    for n in range(succeeded):
        job(conn, SyncJob.Status.SUCCEEDED, finished=finished, object_id=f"s{n}")
    for n in range(failed):
        job(conn, SyncJob.Status.FAILED, finished=finished, object_id=f"f{n}")


def reconciliation(conn: Connection, finished: datetime, *kinds: str,
                   state: str = Difference.State.OPEN) -> ReconciliationRun:
    run = ReconciliationRun.objects.create(connection=conn, status=ReconciliationRun.Status.DONE,
                                           finished_at=finished)
    for n, kind in enumerate(kinds):
        Difference.objects.create(run=run, connection=conn, kind=kind, entity="invoice",
                                  label=f"invoice INV-{n}", explanation="differs",
                                  fingerprint=f"fp-{run.pk}-{n}", state=state)
    return run
