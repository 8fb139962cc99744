"""Who or what caused each job (issue 14, item 4): the user, or "system" with the
trigger, from every place a job is written; and who retried it, with a retry beyond
the attempt cap shown as a manual retry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import transaction

from qbo_sync.models import HistoricalRun, JobRetry, JobTrigger, SyncJob
from qbo_sync.pull.cycle import pull_connection
from qbo_sync.sync import actors, history, outbox
from qbo_sync.testing.simulator.companies import US_REALM

from ..pull.support import linked_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(db: Any) -> Any:
    return get_user_model().objects.create_user("ada", password="pw")


def _job_of(obj: Any) -> SyncJob:
    """The latest job of a host object."""
    ct = ContentType.objects.get_for_model(type(obj))
    return SyncJob.objects.filter(content_type=ct, object_id=str(obj.pk)).latest("pk")


def test_a_historical_run_records_the_user_who_started_it(qbo_connection, ada):
    from ..support import contact, workspaces

    us, _ = workspaces()
    with transaction.atomic():
        from qbo_sync.receivers import muted

        with muted():
            person = contact(us, "Ann Able")
    run = HistoricalRun.objects.create(connection=qbo_connection, kind="contact", user=ada)
    history.run_history(run)
    job = _job_of(person)
    assert (job.trigger, job.requested_by) == (JobTrigger.HISTORY, ada)
    assert actors.actor(job) == "ada (A manual / historical sync)"


def test_the_history_command_is_the_system(qbo_connection):
    from ..support import contact, workspaces

    us, _ = workspaces()
    from qbo_sync.receivers import muted

    with muted():
        person = contact(us, "Bob Baker")
    call_command("qbo_sync_history", workspace="default", kind="contacts")
    job = _job_of(person)
    assert (job.trigger, job.requested_by) == (JobTrigger.HISTORY, None)
    assert actors.actor(job) == "system (A manual / historical sync)"


@pytest.mark.parametrize(("source", "trigger"), [
    ("schedule", JobTrigger.SCHEDULE), ("webhook", JobTrigger.WEBHOOK),
    ("command", JobTrigger.PULL)])
def test_pull_jobs_say_what_started_the_pull(qbo_simulator, qbo_connection, host_contact,
                                            qbo_customer, source, trigger):
    _, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], Decimal("100.00"))
    summary = pull_connection(qbo_connection.pk, source=source)
    assert summary["jobs"] == 2, summary
    jobs = SyncJob.objects.filter(direction="pull")
    assert {j.trigger for j in jobs} == {trigger}
    assert {j.requested_by_id for j in jobs} == {None}


def test_retries_record_who_and_a_retry_beyond_the_cap(qbo_connection, ada, monkeypatch):
    monkeypatch.setattr(outbox, "dispatch", lambda job_id: None)
    job = SyncJob.objects.create(connection=qbo_connection, workspace="default",
                                 entity="invoice", action="create", status="failed",
                                 attempts=2, max_attempts=5, trigger=JobTrigger.SAVE)
    assert actors.attempts_text(job) == "2 / max 5"
    outbox.retry_job(job, user=ada)
    job.refresh_from_db()
    # The cap stays a cap; the retry row says who asked.
    assert (job.status, job.max_attempts, job.requested_by) == ("pending", 5, None)
    [retry] = JobRetry.objects.filter(job=job)
    assert (retry.user, retry.attempts, retry.max_attempts, retry.beyond_cap) == (ada, 2, 5,
                                                                                False)
    # Used up: a retry now is beyond the cap, and the next try is shown as manual.
    SyncJob.objects.filter(pk=job.pk).update(status="failed", attempts=5)
    job.refresh_from_db()
    outbox.retry_job(job, user=ada)
    SyncJob.objects.filter(pk=job.pk).update(status="failed", attempts=6)
    job.refresh_from_db()
    assert [r["beyond_cap"] for r in actors.retries(job)] == [False, True]
    assert actors.attempts_text(job) == "6 / max 5 · 2 manual retries beyond the cap"
    assert actors.actor(job) == "system (A save in the app)"  # who caused it, unchanged


def test_a_retry_through_the_api_records_the_user(qbo_connection, monkeypatch):
    from rest_framework.test import APIClient

    from ..support import people, workspaces

    monkeypatch.setattr(outbox, "dispatch", lambda job_id: None)
    admin = people(*workspaces())["admin"]
    job = SyncJob.objects.create(connection=qbo_connection, workspace="default",
                                 entity="invoice", action="create", status="failed",
                                 attempts=5, max_attempts=5)
    client = APIClient()
    client.force_authenticate(admin)
    base = "/api/v3/integrations/quickbooks/"
    resp = client.post(base + f"sync-logs/{job.pk}/retry")
    assert resp.status_code == 202, resp.content
    body = client.get(base + f"sync-logs/{job.pk}").json()
    assert body["retries"][0]["user"] == admin.username
    assert body["retries"][0]["beyond_cap"] is True
    assert body["caused_by"] == "system (Not recorded)"
    assert body["correlation_id"] == str(job.correlation_id)


def test_every_job_gets_its_own_correlation_id(qbo_connection):
    a = SyncJob.objects.create(connection=qbo_connection, workspace="default", entity="x",
                               action="sync")
    b = SyncJob.objects.create(connection=qbo_connection, workspace="default", entity="x",
                               action="sync")
    assert a.correlation_id and b.correlation_id and a.correlation_id != b.correlation_id
