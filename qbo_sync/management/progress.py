"""What the long-running commands share: a ``--since`` day argument and a progress bar
drawn in place on stderr."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from django.core.management.base import CommandError

BAR_WIDTH = 30


def since_day(value: str) -> date:
    """``--since YYYY-MM-DD`` (an argparse ``type``)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since {value!r} is not a date; use YYYY-MM-DD.") from None


class ProgressBar:
    """Call it with a run that has ``percent``, ``done`` and ``total``; ``close()``
    ends the line if anything was drawn."""

    def __init__(self) -> None:
        self.drawn = False

    def __call__(self, run: Any) -> None:
        self.drawn = True
        filled = BAR_WIDTH * run.percent // 100
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        sys.stderr.write(f"\r[{bar}] {run.percent:3d}% {run.done}/{run.total}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
