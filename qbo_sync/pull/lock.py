"""One pull at a time per QBO company (docs/qbo-rules.md §7.5: process changes linearly per
realm).

The lock is ``Connection.pull_started_at``, taken with a conditional UPDATE, so it holds
across processes and machines with nothing but the database. The holder renews it
between QBO calls and jobs; a holder that died stops renewing, and once its stamp is
older than the lease the next caller takes over. The lease is short (a little more than
one HTTP call may take), so a killed worker freezes a company's pulls for about a
minute, not for as long as a pull could run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from ..conf import app_settings
from ..models import Connection

POLL_SECONDS = 0.2


def lease() -> timedelta:
    """How long a stamp holds without renewal: one QBO call's connect and read timeouts
    (``QBO_SYNC["TIMEOUT"]``) plus a margin, so renewing between calls is enough."""
    timeout = app_settings.TIMEOUT
    seconds = sum(timeout) if isinstance(timeout, (tuple, list)) else float(timeout)
    return timedelta(seconds=seconds + 15)


class RealmLock:
    """A held (or refused) pull lock; true when held."""

    def __init__(self, realm_id: str, stamp: datetime | None) -> None:
        self.realm_id, self.stamp = realm_id, stamp

    def __bool__(self) -> bool:
        return self.stamp is not None

    def renew(self) -> bool:
        """Move the lease forward; False if it ran out and another pull took over."""
        if self.stamp is None:
            return False
        now = timezone.now()
        if Connection.objects.filter(realm_id=self.realm_id,
                                     pull_started_at=self.stamp).update(pull_started_at=now):
            self.stamp = now
            return True
        self.stamp = None
        return False

    def release(self) -> None:
        if self.stamp is not None:
            # Only our own lease: if it ran out and someone took over, leave theirs.
            Connection.objects.filter(realm_id=self.realm_id,
                                      pull_started_at=self.stamp).update(pull_started_at=None)
            self.stamp = None


def _acquire(realm_id: str, held_for: timedelta) -> datetime | None:
    now = timezone.now()
    free = Q(pull_started_at__isnull=True) | Q(pull_started_at__lt=now - held_for)
    taken = Connection.objects.filter(free, realm_id=realm_id).update(pull_started_at=now)
    return now if taken else None


@contextmanager
def realm_lock(realm_id: str, *, wait: float = 0,
               held_for: timedelta | None = None) -> Iterator[RealmLock]:
    """Hold the pull lock of ``realm_id`` for the block; yields the lock, true if taken
    (waiting up to ``wait`` seconds for a running pull to finish)."""
    held_for = held_for or lease()
    deadline = time.monotonic() + wait
    stamp = _acquire(realm_id, held_for)
    while stamp is None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        stamp = _acquire(realm_id, held_for)
    lock = RealmLock(realm_id, stamp)
    try:
        yield lock
    finally:
        lock.release()


def is_locked(realm_id: str) -> bool:
    """Whether a live pull holds the realm's lock."""
    return Connection.objects.filter(
        realm_id=realm_id, pull_started_at__gte=timezone.now() - lease()
    ).exists()
