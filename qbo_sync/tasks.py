"""django-q2 entry points. Each takes primitive ids, re-reads state and calls one
service; the services hold the logic. These dotted paths are stored in django-q2's
queue and schedules, so they never move."""

from __future__ import annotations

from typing import Any

from .alerts import service as alerts
from .imports import run as imports
from .pull import cycle, overdue, webhooks
from .reconcile import run as reconcile
from .sync import batch, history, outbox, retention


def run_job(job_id: int, drain: bool = False) -> str:
    """Run one sync job (push or pull), with the connection's other due pushes as
    ``/batch`` calls when there are any (sync/batch.py). Returns its status afterwards.
    ``drain``: the task stands for a batch of jobs; if this one was taken with another's,
    the connection's next due pushes run instead."""
    return batch.run_job(job_id, drain=drain)


def sweep() -> int:
    """Dispatch jobs that are due or whose worker died, and queue webhook deliveries
    due again or stranded. Scheduled every SWEEP_INTERVAL_MINUTES."""
    return outbox.sweep() + webhooks.sweep_deliveries()


def pull_connection(connection_id: int) -> dict[str, Any]:
    """Catch up on changes made in QBO (CDC) for one connection."""
    return cycle.pull_connection(connection_id)


def pull_all() -> int:
    """Queue a catch-up for every connected connection. Scheduled every POLL_INTERVAL."""
    return cycle.pull_all()


def process_webhook(event_id: int, force: bool = False) -> dict[str, Any]:
    """Process one stored webhook delivery (``force``: a replay, ignoring dedupe keys)."""
    return webhooks.process_event(event_id, force=force)


def process_webhooks(realm_id: str) -> dict[str, Any]:
    """Process every pending webhook delivery of one QBO company, with one pull."""
    return webhooks.process_realm(realm_id)


def prune() -> dict[str, int]:
    """Remove what is older than QBO_SYNC["RETENTION_DAYS"], in batches. Scheduled daily."""
    return retention.prune()


def historical_sync(workspace: str, kind: str, since: str | None = None,
                    progress_key: str | None = None) -> dict[str, Any]:
    """Queue pushes of existing contacts or invoices (manual / historical sync)."""
    return history.sync_history(workspace, kind, since=since, progress_key=progress_key)


def reconcile_run(run_id: int) -> str:
    """Run one queued reconciliation. Returns its status afterwards."""
    return reconcile.run_queued(run_id)


def reconcile_all() -> int:
    """Start a reconciliation of every connected connection. Scheduled every
    RECONCILE_INTERVAL_HOURS."""
    return reconcile.reconcile_all()


def evaluate_alerts() -> int:
    """Evaluate the alert rules of every workspace and send what changed; returns how
    many alerts fired, repeated or resolved. Scheduled every ALERTS["INTERVAL_MINUTES"]."""
    return sum(len(outcome.events) for outcome in alerts.evaluate_all())


def send_alert_digests() -> int:
    """Send each workspace's daily alert digest; returns how many were sent. Scheduled
    daily when ALERTS["DIGEST"] is on."""
    return alerts.digest_all()
def import_customers(run_id: int) -> str:
    """Run one queued customer import. Returns its status afterwards."""
    return imports.run_queued(run_id)


def check_overdue() -> int:
    """Find invoices that became overdue (or stopped being) in every connected company.
    Scheduled daily."""
    return overdue.check_all()
