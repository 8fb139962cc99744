"""One pull at a time per QBO company (qbo-api.md §7.5: process changes linearly per
realm).

The lock is a row in the database every worker already shares, so it holds across
processes and machines without a shared cache. It reuses the ``SeenEvent`` table (a
unique key and a timestamp are all a lease needs): key ``lock:pull:<realm>``,
``seen_at`` = when it was taken. A holder that died leaves a row older than the lease,
which the next caller takes over.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import SeenEvent

LOCK_PREFIX = "lock:pull:"
#: A pull that has held the lock this long is taken to be dead.
LEASE = timedelta(minutes=15)
POLL_SECONDS = 0.2


def _key(realm_id: str) -> str:
    return f"{LOCK_PREFIX}{realm_id}"


def _acquire(realm_id: str, lease: timedelta) -> datetime | None:
    now = timezone.now()
    key = _key(realm_id)
    try:
        with transaction.atomic():
            SeenEvent.objects.create(key=key, realm_id=realm_id, seen_at=now)
        return now
    except IntegrityError:
        # Held, or left behind by a dead worker: take it over only if the lease ran out.
        taken = SeenEvent.objects.filter(key=key, seen_at__lt=now - lease).update(seen_at=now)
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
            SeenEvent.objects.filter(key=_key(realm_id), seen_at=stamp).delete()


def is_locked(realm_id: str, lease: timedelta = LEASE) -> bool:
    """Whether a live pull holds the realm's lock."""
    return SeenEvent.objects.filter(
        key=_key(realm_id), seen_at__gte=timezone.now() - lease
    ).exists()
