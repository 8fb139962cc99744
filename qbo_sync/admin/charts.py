"""Charts drawn on the server as SVG strings: pure functions, no JavaScript, nothing
fetched. Every label is escaped; axes and text use ``currentColor`` and the admin's CSS
variables (``--body-fg``, ``--hairline-color``), so a chart reads in the light and the
dark admin theme alike. The series colours are mid-tones that hold on both."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 28, 34
#: Series colours (mid-tones, readable on white and on the dark theme's near-black).
GREEN, RED, BLUE, AMBER, GREY = "#2f9e5b", "#d64545", "#3b82f6", "#d08a00", "#8a8f98"
X_LABELS = 6

Series = tuple[str, Sequence[float | None], str]  # name, values, colour


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _number(value: float, unit: str = "") -> str:
    if unit == "s":
        if value >= 3600:
            return f"{value / 3600:g}h"
        if value >= 60:
            return f"{value / 60:g}m"
        return f"{value:g}s"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _frame(key: str, title: str, description: str, body: list[str],
           height: int = HEIGHT) -> SafeString:
    ident = _e(f"qbo-chart-{key}")
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="qbo-chart" id="{ident}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" '
        f'style="color: var(--body-fg, #333); font: 11px sans-serif; max-width: {WIDTH}px">'
        f'<title id="{ident}-title">{_e(title)}</title>'
        f'<desc id="{ident}-desc">{_e(description)}</desc>'
        f'<text x="{LEFT}" y="16" fill="currentColor" font-weight="bold" font-size="13">'
        f'{_e(title)}</text>{"".join(body)}</svg>')


def _legend(series: Sequence[tuple[str, str]], dashed: Sequence[str] = ()) -> list[str]:
    parts, x = [], WIDTH - RIGHT
    for name, colour in reversed(series):
        x -= 7 * len(name) + 22
        mark = (f'<line x1="{x}" y1="12" x2="{x + 12}" y2="12" stroke="{colour}" '
                f'stroke-width="2" stroke-dasharray="4 3"/>' if name in dashed else
                f'<rect x="{x}" y="7" width="12" height="10" fill="{colour}"/>')
        parts.append(f'<g class="qbo-legend">{mark}<text x="{x + 16}" y="16" '
                     f'fill="currentColor">{_e(name)}</text></g>')
    return parts


def _axes(top: float, labels: Sequence[str], unit: str, slot: float) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - BOTTOM - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     f'style="stroke: var(--hairline-color, #ddd)" stroke-width="1"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="currentColor">{_e(_number(value, unit))}</text>')
    step = max(1, math.ceil(len(labels) / X_LABELS))
    for i in range(0, len(labels), step):
        x = LEFT + slot * (i + 0.5)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                     f'fill="currentColor" style="fill: var(--body-quiet-color, currentColor)"'
                     f'>{_e(labels[i])}</text>')
    return parts


def _empty(key: str, title: str) -> SafeString:
    return _frame(key, title, "No data in this window.", [
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="currentColor">'
        'No data in this window.</text>'])


def stacked_bars(key: str, title: str, labels: Sequence[str], series: Sequence[Series],
                 *, unit: str = "") -> SafeString:
    """Bars per label, the series stacked in order (None counts as 0)."""
    totals = [sum(s[1][i] or 0 for s in series) for i in range(len(labels))]
    if not labels or not any(totals):
        return _empty(key, title)
    top = nice_max(max(totals))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(labels)
    bar = min(slot * 0.7, 40.0)
    body = _axes(top, labels, unit, slot)
    for i, label in enumerate(labels):
        base = 0.0
        for name, values, colour in series:
            value = values[i] or 0
            if not value:
                continue
            h = plot_h * value / top
            y = HEIGHT - BOTTOM - plot_h * base / top - h
            body.append(f'<rect x="{LEFT + slot * (i + 0.5) - bar / 2:.1f}" y="{y:.1f}" '
                        f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                        f'<title>{_e(label)}: {_e(_number(value, unit))} {_e(name)}</title>'
                        '</rect>')
            base += value
    description = "; ".join(f"{name}: {_number(sum(v or 0 for v in values), unit)}"
                            for name, values, _ in series)
    body += _legend([(name, colour) for name, _, colour in series])
    return _frame(key, title, f"Totals in the window: {description}.", body)


def lines(key: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
          unit: str = "", limit: tuple[str, float] | None = None) -> SafeString:
    """One line per series (None leaves a gap), and an optional dashed limit line."""
    values = [v for _, vs, _ in series for v in vs if v is not None]
    if not labels or not values:
        return _empty(key, title)
    top = nice_max(max([*values, limit[1] if limit else 0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(labels)
    body = _axes(top, labels, unit, slot)
    legend = [(name, colour) for name, _, colour in series]
    if limit is not None:
        y = HEIGHT - BOTTOM - plot_h * limit[1] / top
        body.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                    f'stroke="{RED}" stroke-width="1.5" stroke-dasharray="4 3">'
                    f'<title>{_e(limit[0])}: {_e(_number(limit[1], unit))}</title></line>')
        legend.append((limit[0], RED))
    for name, vs, colour in series:
        runs: list[list[str]] = [[]]
        for i, value in enumerate(vs):
            if value is None:
                runs.append([])
                continue
            x, y = LEFT + slot * (i + 0.5), HEIGHT - BOTTOM - plot_h * value / top
            runs[-1].append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}">'
                        f'<title>{_e(labels[i])}: {_e(name)} {_e(_number(value, unit))}'
                        '</title></circle>')
        for run in runs:
            if len(run) > 1:
                body.append(f'<polyline points="{" ".join(run)}" fill="none" '
                            f'stroke="{colour}" stroke-width="2"/>')
    body += _legend(legend, dashed=[limit[0]] if limit else ())
    peak = ", ".join(
        f"{name} peak {_number(max((v for v in vs if v is not None), default=0), unit)}"
        for name, vs, _ in series)
    return _frame(key, title, peak + (f"; {limit[0]} {_number(limit[1], unit)}" if limit
                                      else "") + ".", body)


def hbars(key: str, title: str, items: Sequence[tuple[str, float]], *,
          colour: str = RED) -> SafeString:
    """One horizontal bar per item, largest first (the caller's order)."""
    items = [(label, value) for label, value in items if value][:10]
    if not items:
        return _empty(key, title)
    row = 20
    height = TOP + BOTTOM // 2 + row * len(items)
    top = max(value for _, value in items)
    label_w = 150
    plot_w = WIDTH - LEFT - RIGHT - label_w
    body = []
    for i, (label, value) in enumerate(items):
        y = TOP + 4 + i * row
        w = plot_w * value / top
        body.append(f'<text x="{LEFT + label_w - 8}" y="{y + 12}" text-anchor="end" '
                    f'fill="currentColor">{_e(str(label)[:24])}</text>'
                    f'<rect x="{LEFT + label_w}" y="{y}" width="{max(w, 1):.1f}" height="14" '
                    f'fill="{colour}"><title>{_e(label)}: {_e(_number(value))}</title></rect>'
                    f'<text x="{LEFT + label_w + max(w, 1) + 6:.1f}" y="{y + 12}" '
                    f'fill="currentColor">{_e(_number(value))}</text>')
    description = "; ".join(f"{label}: {_number(value)}" for label, value in items)
    return _frame(key, title, description, body, height=height)
