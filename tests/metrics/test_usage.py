"""The clients count every call they send, by minute, kind and source, in the database
(``qbo_sync.connection.usage``): what the metrics read for calls per minute and the
metered reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from qbo_sync.connection.clients import client_for
from qbo_sync.connection.usage import call_kind, record_calls
from qbo_sync.exceptions import BudgetSpent
from qbo_sync.models import ApiCallCount, SyncJob
from qbo_sync.sync import engine


def counts() -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for row in ApiCallCount.objects.all():
        found[row.kind, row.source] = found.get((row.kind, row.source), 0) + row.count
    return found


def test_call_kinds() -> None:
    assert call_kind("GET", "invoice/12") == "read"
    assert call_kind("POST", "invoice") == "write"
    assert call_kind("POST", "query") == "query"
    assert call_kind("POST", "batch") == "batch"
    assert call_kind("GET", "cdc?entities=Invoice") == "cdc"
    assert call_kind("GET", "companyinfo/1") == "read"


def test_each_call_is_counted_by_kind_and_source(qbo_connection: Any) -> None:
    with client_for(qbo_connection, source="reconcile") as client:
        made = client.create("Customer", {"DisplayName": "Counted Ltd"})
        client.read("Customer", made["Id"])
        client.query("SELECT * FROM Customer MAXRESULTS 1")
        client.cdc(["Invoice"], datetime.now(UTC) - timedelta(hours=1))
        client.batch([{"operation": "create", "Customer": {"DisplayName": "Batch Ltd"}}])
        assert client.calls == 5
    assert counts() == {("write", "reconcile"): 1, ("read", "reconcile"): 1,
                        ("query", "reconcile"): 1, ("cdc", "reconcile"): 1,
                        ("batch", "reconcile"): 1}
    # One row per minute, kind and source: a second read in the same minute bumps it.
    with client_for(qbo_connection, source="reconcile") as client:
        client.read("Customer", made["Id"])
    rows = ApiCallCount.objects.filter(kind="read")
    assert [r.count for r in rows] == [2] and rows[0].minute.second == 0


def test_a_call_our_budget_held_back_is_not_counted(qbo_connection: Any) -> None:
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "RATE_LIMIT_PER_MINUTE": 1,
                                     "RATE_LIMIT_MAX_WAIT": 0}):
        with client_for(qbo_connection) as client:
            client.query("SELECT * FROM Item MAXRESULTS 1")
            with pytest.raises(BudgetSpent):
                client.query("SELECT * FROM Item MAXRESULTS 1")
    assert counts() == {("query", "other"): 1}


def test_counting_inside_a_callers_transaction(qbo_connection: Any) -> None:
    # The count runs in a savepoint: the caller's transaction goes on either way.
    with transaction.atomic():
        record_calls(qbo_connection.pk, "read", "job", 3)
        record_calls(qbo_connection.pk, "read", "job", 2)
        assert SyncJob.objects.count() == 0  # the transaction still answers
    assert counts() == {("read", "job"): 5}


def test_a_sync_job_counts_its_calls_as_the_jobs(qbo_connection: Any,
                                                 host_contact: Any) -> None:
    job = SyncJob.objects.filter(entity="contact").get()
    assert engine.run_job(job.pk) == "succeeded"
    found = counts()
    assert found.get(("write", "job"), 0) == 1  # the Customer create
    assert set(source for _, source in found) <= {"job", "lists"}
    assert sum(found.values()) >= 1


def test_a_failing_count_never_fails_the_caller(qbo_connection: Any, caplog: Any) -> None:
    from django.db import OperationalError

    with mock.patch.object(ApiCallCount.objects, "filter",
                           side_effect=OperationalError("database is locked")):
        with transaction.atomic():
            record_calls(qbo_connection.pk, "read", "job")
            assert SyncJob.objects.count() == 0  # the caller's transaction still works
    assert "QuickBooks call count not recorded: OperationalError" in caplog.text
    assert not ApiCallCount.objects.exists()
