"""The engine: an infrastructure failure (database, cache or broker connection) is
transient and retried with backoff, never "a bug in the sync"; ``claimed_by`` names the
process running the job (issue 16)."""

from __future__ import annotations

import os
import socket
from decimal import Decimal
from typing import Any

import pytest
import redis.exceptions
from django.db import OperationalError

from qbo_sync.models import SyncJob
from qbo_sync.pull.cycle import pull_connection
from qbo_sync.sync import engine
from qbo_sync.testing.simulator.companies import US_REALM
from tests.pull.support import linked_invoice

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("error", [
    OperationalError("server closed the connection unexpectedly"),
    redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379"),
])
def test_an_infrastructure_error_is_retried_not_a_bug(
        qbo_simulator: Any, qbo_connection: Any, host_contact: Any, qbo_customer: str,
        monkeypatch: Any, error: Exception) -> None:
    def down(self: Any, obj: Any, payment: Any) -> None:
        raise error

    monkeypatch.setattr("example_project.billing.qbo.InvoiceAdapter.record_payment", down)
    _, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], Decimal("100.00"))
    pull_connection(qbo_connection.pk)

    job = SyncJob.objects.get(direction="pull", action="pull_payment")
    assert job.status == SyncJob.Status.PENDING
    assert job.error["type"] == "TransientError"
    assert "bug in the sync" not in job.error_message
    assert job.next_attempt_at is not None


def test_claimed_by_names_the_process_running_the_job(monkeypatch: Any) -> None:
    monkeypatch.setattr(os, "getpid", lambda: 424242)
    assert engine.worker_id() == f"{socket.gethostname()}:424242"
