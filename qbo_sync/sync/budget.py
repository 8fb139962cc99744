"""The call budget in the database: a ``limits`` storage for the embedded default.

Worker processes on one machine with SQLite and no shared cache share no memory, so
their per-realm budget (docs/qbo-rules.md §3) lives in the database they all use. This
module registers the ``qbo-sync-db://<alias>`` storage scheme with ``limits``
(:func:`limits.storage.storage_from_string` finds it once this module is imported, at
app loading): a moving window like ``limits``' own storages, so ``qbo/throttle.py``
uses the same ``MovingWindowRateLimiter`` on every stack.

Each change of a key's budget runs in one short transaction that first updates the
key's :class:`~qbo_sync.models.BudgetKey` row: on PostgreSQL that is a row lock, on
SQLite the database's write lock, so processes take turns and never both take the last
unit. The window is one row per call (:class:`~qbo_sync.models.BudgetHit`), pruned as
calls leave it; the in-flight slots are leases (:class:`~qbo_sync.models.BudgetLease`)
that expire by themselves, so a killed worker does not keep one.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlparse

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count, F, Min
from limits.storage import MovingWindowSupport, Storage

from ..models import BudgetHit, BudgetKey, BudgetLease

SCHEME = "qbo-sync-db"


class DatabaseStorage(Storage, MovingWindowSupport):
    """A ``limits`` storage in the Django database named by the URI's host
    (``qbo-sync-db://default``), with in-flight leases besides the moving window."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.alias = (urlparse(uri).netloc if uri else "") or "default"

    @property
    def base_exceptions(self) -> type[Exception]:
        return DatabaseError

    # Locking ---------------------------------------------------------------------------

    def atomic(self) -> Any:
        """One transaction for several takes (a window unit and a slot): all or none."""
        return transaction.atomic(using=self.alias)

    def _lock(self, key: str) -> None:
        """Lock ``key``'s row for the current transaction (creating it the first time)."""
        rows = BudgetKey.objects.using(self.alias).filter(key=key)
        # A write first: SQLite takes its write lock here even in a DEFERRED transaction,
        # PostgreSQL the row lock; a read first could deadlock two SQLite writers.
        if not rows.update(count=F("count")):
            try:
                with transaction.atomic(using=self.alias):
                    BudgetKey.objects.using(self.alias).create(key=key)
            except IntegrityError:  # another process created it first
                pass
            rows.update(count=F("count"))

    # Moving window ---------------------------------------------------------------------

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        with transaction.atomic(using=self.alias):
            self._lock(key)
            now = time.time()
            hits = BudgetHit.objects.using(self.alias).filter(key=key)
            # A call leaves the window when it is exactly a window old: the moment
            # get_moving_window announces.
            hits.filter(at__lte=now - expiry).delete()
            if hits.count() + amount > limit:
                return False
            BudgetHit.objects.using(self.alias).bulk_create(
                [BudgetHit(key=key, at=now) for _ in range(amount)])
            return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(the oldest call still in the window, how many calls it holds)."""
        now = time.time()
        stats = BudgetHit.objects.using(self.alias).filter(
            key=key, at__gt=now - expiry).aggregate(oldest=Min("at"), n=Count("pk"))
        if not stats["n"]:
            return now, 0
        return float(stats["oldest"]), int(stats["n"])

    # Counters (limits' Storage API; qbo_sync counts 429s with them) --------------------

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with transaction.atomic(using=self.alias):
            self._lock(key)
            row = BudgetKey.objects.using(self.alias).get(key=key)
            now = time.time()
            if row.expires_at <= now:
                row.count, row.expires_at = 0, now + expiry
            row.count += amount
            row.save(update_fields=["count", "expires_at"])
            return int(row.count)

    def get(self, key: str) -> int:
        row = BudgetKey.objects.using(self.alias).filter(key=key).first()
        return int(row.count) if row and row.expires_at > time.time() else 0

    def get_expiry(self, key: str) -> float:
        row = BudgetKey.objects.using(self.alias).filter(key=key).first()
        return float(row.expires_at) if row and row.expires_at > time.time() else time.time()

    def check(self) -> bool:
        try:
            BudgetKey.objects.using(self.alias).exists()
        except DatabaseError:
            return False
        return True

    def reset(self) -> int | None:
        removed = 0
        for model in (BudgetHit, BudgetLease, BudgetKey):
            removed += model.objects.using(self.alias).all().delete()[0]
        return removed

    def clear(self, key: str) -> None:
        for model in (BudgetHit, BudgetLease, BudgetKey):
            model.objects.using(self.alias).filter(key=key).delete()

    # In-flight leases --------------------------------------------------------------------

    def acquire_lease(self, key: str, limit: int, ttl: float) -> int | None:
        """A lease on one of ``limit`` slots for ``ttl`` seconds (its id), or None when
        all are held. Leases past their expiry are dropped first: their worker died."""
        with transaction.atomic(using=self.alias):
            self._lock(key)
            now = time.time()
            leases = BudgetLease.objects.using(self.alias).filter(key=key)
            leases.filter(expires_at__lte=now).delete()
            if leases.count() >= limit:
                return None
            return int(BudgetLease.objects.using(self.alias).create(
                key=key, expires_at=now + ttl).pk)

    def release_lease(self, lease_id: int) -> None:
        BudgetLease.objects.using(self.alias).filter(pk=lease_id).delete()

