"""Figures as people read them: shares as percentages, seconds as s / m / h / d."""

from __future__ import annotations


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"
