"""django-q2 entry points. Each takes primitive ids, re-reads state and calls one
service; the services hold the logic."""

from __future__ import annotations

from typing import Any


def run_job(job_id: int) -> str:
    """Run one sync job (push or pull). Returns its status afterwards."""
    from .engine import run_job as run

    return run(job_id)


def sweep() -> int:
    """Dispatch jobs that are due or whose worker died. Scheduled every minute."""
    from .engine import sweep as do_sweep

    return do_sweep()


def pull_connection(connection_id: int) -> dict[str, Any]:
    """Catch up on changes made in QBO (CDC) for one connection."""
    from .pull import pull_connection as pull

    return pull(connection_id)


def pull_all() -> int:
    """Queue a catch-up for every connected connection. Scheduled every POLL_INTERVAL."""
    from .pull import pull_all as run

    return run()


def process_webhook(event_id: int, force: bool = False) -> dict[str, Any]:
    """Process one stored webhook delivery (``force``: a replay, ignoring dedupe keys)."""
    from .webhooks import process_event

    return process_event(event_id, force=force)


def historical_sync(workspace: str, kind: str, since: str | None = None,
                    progress_key: str | None = None) -> dict[str, Any]:
    """Queue pushes of existing contacts or invoices (manual / historical sync)."""
    from .history import sync_history

    return sync_history(workspace, kind, since=since, progress_key=progress_key)
