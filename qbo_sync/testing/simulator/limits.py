"""Per-realm throttling as QBO's gateway applies it (docs/qbo-rules.md §3).

- 500 requests per minute per realm (sliding window over the simulator's clock, so tests
  can ``clock.advance(60)`` instead of waiting);
- 10 requests in flight at once per realm ("10 concurrent requests per realm per app");
- 40 ``/batch`` calls per minute per realm (the batch reference's number; the limits page
  also lists 120/realm for all apps together). A batch also counts as one request.

A rejected request takes no slot and is not counted: QBO does not document whether
throttled calls count, and not counting them lets a client that backs off recover.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .wire import Clock

WINDOW = timedelta(minutes=1)


@dataclass
class Limits:
    """Configurable limits; ``None`` disables one."""

    per_minute: int | None = 500
    concurrent: int | None = 10
    batch_per_minute: int | None = 40


@dataclass
class _RealmState:
    calls: deque[datetime] = field(default_factory=deque)
    batches: deque[datetime] = field(default_factory=deque)
    in_flight: int = 0


class RealmLimiter:
    """Admission control for ``/v3/company/{realm}/…`` calls. Thread-safe."""

    def __init__(self, clock: Clock, limits: Limits | None = None) -> None:
        self.clock = clock
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._realms: dict[str, _RealmState] = {}

    def acquire(self, realm_id: str, *, batch: bool = False) -> str | None:
        """Take a slot for one call. Returns ``None`` when admitted (call :meth:`release`
        afterwards) or the name of the limit that was hit."""
        now = self.clock.now()
        with self._lock:
            st = self._realms.setdefault(realm_id, _RealmState())
            _trim(st.calls, now)
            _trim(st.batches, now)
            lim = self.limits
            if lim.concurrent is not None and st.in_flight >= lim.concurrent:
                return "concurrent"
            if lim.per_minute is not None and len(st.calls) >= lim.per_minute:
                return "per_minute"
            if batch and lim.batch_per_minute is not None and len(st.batches) >= (
                lim.batch_per_minute
            ):
                return "batch_per_minute"
            st.calls.append(now)
            if batch:
                st.batches.append(now)
            st.in_flight += 1
            return None

    def release(self, realm_id: str) -> None:
        with self._lock:
            st = self._realms.get(realm_id)
            if st is not None and st.in_flight > 0:
                st.in_flight -= 1

    def usage(self, realm_id: str) -> dict[str, int]:
        """Current counts, for the control plane and tests."""
        now = self.clock.now()
        with self._lock:
            st = self._realms.get(realm_id) or _RealmState()
            _trim(st.calls, now)
            _trim(st.batches, now)
            return {
                "last_minute": len(st.calls),
                "batches_last_minute": len(st.batches),
                "in_flight": st.in_flight,
            }

    def reset(self) -> None:
        """Forget the windows (slots held by calls still running stay held)."""
        with self._lock:
            for st in self._realms.values():
                st.calls.clear()
                st.batches.clear()


def _trim(window: deque[datetime], now: datetime) -> None:
    while window and window[0] <= now - WINDOW:
        window.popleft()
