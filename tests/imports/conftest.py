"""Customer-import tests stand on the push fixtures: the example product connected to
the simulator's US company, with django-q2 running tasks inline."""

from __future__ import annotations

import pytest

from qbo_sync.imports.run import run_import, start_import
from qbo_sync.models import ImportRun
from tests.push.conftest import connected, contact, us_workspace  # noqa: F401

__all__ = ["connected", "contact", "us_workspace"]


def run(conn, **kwargs) -> ImportRun:
    """One import in the foreground, as the command runs it."""
    return run_import(start_import(conn, trigger="command", queue=False, **kwargs))


def outcomes(run: ImportRun) -> dict[str, str]:
    """DisplayName → outcome, from the run's per-customer results."""
    return {row[1]: row[2] for row in run.results}


@pytest.fixture
def realm(connected) -> str:
    return connected.realm_id


@pytest.fixture
def add(qbo_simulator, realm):
    """Add a customer to the QuickBooks company, as the accountant did years ago."""
    def _add(name: str, **kwargs):
        return qbo_simulator.accountant.add_customer(realm, name, **kwargs)
    return _add


def existing(workspace, **fields):
    """A contact the app had before it was connected (so never pushed)."""
    from example_project.billing.models import Contact
    from qbo_sync.receivers import muted

    with muted():
        return Contact.objects.create(workspace=workspace, **fields)
