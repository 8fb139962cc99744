"""The windows metrics are computed over, and the buckets their time series use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

#: Window name → span. The one list the API, the command and the dashboard accept.
WINDOWS: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
#: Each window's chart bucket: 12, 24, 28 and 30 points.
BUCKETS: dict[str, timedelta] = {
    "1h": timedelta(minutes=5),
    "24h": timedelta(hours=1),
    "7d": timedelta(hours=6),
    "30d": timedelta(days=1),
}
DEFAULT_WINDOW = "24h"


def window_error(name: object) -> str:
    """What is wrong with ``name`` as a window, with the fix; "" when it is one."""
    if isinstance(name, str) and name in WINDOWS:
        return ""
    shown = repr(name)[:40]
    return (f"window {shown} is not one of {', '.join(WINDOWS)}: use one of them, "
            f"e.g. window={DEFAULT_WINDOW}.")


@dataclass(frozen=True)
class Window:
    """A named span ending at ``end``: rows with ``start <= t < end`` are in it."""

    name: str
    start: datetime
    end: datetime
    bucket: timedelta

    @property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    def bucket_starts(self) -> list[datetime]:
        count = int((self.end - self.start) / self.bucket)
        return [self.start + i * self.bucket for i in range(count)]

    def bucket_of(self, when: datetime) -> int | None:
        """The index of the bucket ``when`` falls in; None outside the window."""
        if not self.start <= when < self.end:
            return None
        return int((when - self.start) / self.bucket)


def window(name: str, *, now: datetime | None = None) -> Window:
    """The window ``name`` ending now; ValueError (naming the choices) otherwise."""
    problem = window_error(name)
    if problem:
        raise ValueError(problem)
    end = now or timezone.now()
    return Window(name, end - WINDOWS[name], end, BUCKETS[name])
