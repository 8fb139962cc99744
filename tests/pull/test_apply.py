"""Applying a pull job to the host: a value from QuickBooks the host refuses (its model
validation, or its database column) fails the job with a validation error that names
the field and the fix, never "This is a bug in the sync"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import DataError

from example_project.billing.models import Payment
from qbo_sync.models import SyncJob
from qbo_sync.pull.cycle import pull_connection
from qbo_sync.testing.simulator.companies import US_REALM

from .support import linked_invoice

pytestmark = pytest.mark.django_db
LONG = "REF-" + "9" * 146  # 150 characters; the host's Payment.reference holds 100


def _pull_payment_job() -> SyncJob:
    return SyncJob.objects.get(direction="pull", action="pull_payment")


def test_a_reference_longer_than_the_hosts_field_names_the_field(
        qbo_simulator: Any, qbo_connection: Any, host_contact: Any, qbo_customer: str) -> None:
    _, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], Decimal("100.00"),
                                            reference=LONG)
    pull_connection(qbo_connection.pk)

    job = _pull_payment_job()
    assert job.status == SyncJob.Status.FAILED
    assert job.error["type"] == "HostDataError" and job.error["element"] == "reference"
    assert "The app's field 'reference' cannot take QuickBooks payment" in job.error_message
    assert "at most 100 characters (it has 150)" in job.error_message
    assert "widen the app's 'reference' field" in job.error_message
    assert "bug in the sync" not in job.error_message
    assert not Payment.objects.exists()  # the invoice's own "paid" job is separate


def test_a_database_refusal_is_explained_with_the_longest_value(
        qbo_simulator: Any, qbo_connection: Any, host_contact: Any, qbo_customer: str,
        monkeypatch: Any) -> None:
    # A host that does not validate: PostgreSQL itself refuses the value.
    def too_long(self: Any, obj: Any, payment: Any) -> None:
        raise DataError("value too long for type character varying(100)")

    monkeypatch.setattr("example_project.billing.qbo.InvoiceAdapter.record_payment", too_long)
    _, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], Decimal("100.00"),
                                            method="Check", reference=LONG)
    pull_connection(qbo_connection.pk)

    job = _pull_payment_job()
    assert job.status == SyncJob.Status.FAILED and job.error["type"] == "HostDataError"
    assert "The app's database refused QuickBooks payment" in job.error_message
    assert "value too long for type character varying(100)" in job.error_message
    assert "the longest text from QuickBooks is its reference (150 characters)" \
        in job.error_message
    assert "widen the app's field" in job.error_message
    assert "bug in the sync" not in job.error_message


def test_postgresqls_own_refusal_fails_only_the_job(
        qbo_simulator: Any, qbo_connection: Any, host_contact: Any, qbo_customer: str,
        monkeypatch: Any) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite does not enforce a column's length")
    monkeypatch.setattr(Payment, "full_clean", lambda self, *a, **kw: None)
    _, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], Decimal("100.00"),
                                            reference=LONG)
    pull_connection(qbo_connection.pk)

    job = _pull_payment_job()  # readable: the refused write had its own savepoint
    assert job.status == SyncJob.Status.FAILED and job.error["type"] == "HostDataError"
    assert "value too long" in job.error_message and "reference (150" in job.error_message
