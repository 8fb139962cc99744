"""Reconciliation tests stand on the push fixtures: the example product connected to
the simulator's US company, with django-q2 running tasks inline."""

from __future__ import annotations

import pytest

from qbo_sync.models import ReconciliationRun
from qbo_sync.reconcile.run import run_reconciliation, start_reconciliation
from tests.push.conftest import connected, contact, us_workspace  # noqa: F401

__all__ = ["connected", "contact", "us_workspace"]


def reconcile(conn, **kwargs) -> ReconciliationRun:
    """One run, in the foreground, as the command does it."""
    run = start_reconciliation(conn, trigger="command", queue=False, **kwargs)
    return run_reconciliation(run)


def kinds(run: ReconciliationRun) -> list[str]:
    return sorted(run.differences.values_list("kind", flat=True))


@pytest.fixture
def realm(connected) -> str:
    return connected.realm_id
