"""Shared fixtures. The simulator and connection fixtures (``qbo_simulator``,
``qbo_sim_server``, ``qbo_connect``, ``qbo_connection``) come from
``qbo_sync.testing.fixtures`` (registered as a pytest plugin by the package's entry point).
Plain helpers called with arguments are in ``tests/support.py`` and the ``support.py`` of
a test package."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from example_project.billing.models import Contact


@pytest.fixture(autouse=True)
def _fresh_connection_memory():
    """Every test starts like a new process: no connection remembered from an earlier
    test's database (``outbox.connection_snapshot``)."""
    from qbo_sync.sync import outbox

    outbox._snapshots.clear()


@pytest.fixture(autouse=True)
def _fresh_call_budget():
    """The per-realm call budget (the minute window and the in-flight slots); start every
    test with a full one so calls made by earlier tests in the same minute do not count."""
    from django.core.cache import cache

    from qbo_sync.qbo import throttle

    cache.clear()
    # The database budget needs no reset: a test's rows go with its rolled-back
    # transaction, or with the flush after a transactional test.
    if not throttle.storage_uri().startswith("qbo-sync-db:"):
        throttle.reset()
    yield


# A host contact and a QBO customer, for tests that link invoices on both sides
# (tests/pull/support.py) ----------------------------------------------------------------


@pytest.fixture
def host_contact(db) -> Contact:
    from example_project.billing.models import Contact, Workspace

    workspace = Workspace.objects.create(name="Acme US", slug="default", country="US",
                                         home_currency="USD")
    return Contact.objects.create(workspace=workspace, display_name="Northwind LLC",
                                  email="ap@northwind.example", country="US", currency="USD")


@pytest.fixture
def qbo_customer(qbo_connection) -> str:
    from qbo_sync.connection.clients import client_for

    with client_for(qbo_connection) as client:
        return client.create("Customer", {"DisplayName": "Northwind LLC"})["Id"]
