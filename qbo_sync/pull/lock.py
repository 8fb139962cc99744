"""One pull at a time per QBO company (docs/qbo-rules.md §7.5: process changes linearly per
realm).

The lock is ``Connection.pull_started_at``, taken with a conditional UPDATE, so it holds
across processes and machines with nothing but the database. A holder that died leaves
a stamp older than the lease, which the next caller takes over.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from ..models import Connection

#: A pull that has held the lock this long is taken to be dead.
LEASE = timedelta(minutes=15)
POLL_SECONDS = 0.2


def _acquire(realm_id: str, lease: timedelta) -> datetime | None:
    now = timezone.now()
    free = Q(pull_started_at__isnull=True) | Q(pull_started_at__lt=now - lease)
    taken = Connection.objects.filter(free, realm_id=realm_id).update(pull_started_at=now)
    return now if taken else None


@contextmanager
def realm_lock(realm_id: str, *, wait: float = 0, lease: timedelta = LEASE) -> Iterator[bool]:
    """Hold the pull lock of ``realm_id`` for the block; yields whether it was taken
    (waiting up to ``wait`` seconds for a running pull to finish)."""
    deadline = time.monotonic() + wait
    stamp = _acquire(realm_id, lease)
    while stamp is None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        stamp = _acquire(realm_id, lease)
    try:
        yield stamp is not None
    finally:
        if stamp is not None:
            # Only our own lease: if it ran out and someone took over, leave theirs.
            Connection.objects.filter(realm_id=realm_id, pull_started_at=stamp).update(
                pull_started_at=None)


def is_locked(realm_id: str, lease: timedelta = LEASE) -> bool:
    """Whether a live pull holds the realm's lock."""
    return Connection.objects.filter(
        realm_id=realm_id, pull_started_at__gte=timezone.now() - lease
    ).exists()
