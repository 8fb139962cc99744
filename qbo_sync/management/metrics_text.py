"""One workspace's metrics as lines of text (``qbo_sync_status --metrics``)."""

from __future__ import annotations

from typing import Any

from ..metrics.text import duration, percent

_pct, _secs = percent, duration


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


def metrics_lines(m: dict[str, Any]) -> list[str]:
    jobs, queue, calls, reads = m["jobs"], m["queue"], m["calls"], m["metered_reads"]
    lines = [
        f"{m['workspace']} — last {m['window']} (since {m['since']:%Y-%m-%d %H:%M} UTC)",
        f"  jobs: {jobs['succeeded']} succeeded ({jobs['differs']} with totals differing), "
        f"{jobs['failed']} failed, {jobs['parked']} parked, {jobs['skipped']} skipped; "
        f"success {_pct(jobs['success_rate'])}, errors {_pct(jobs['error_rate'])}",
        f"  retries: {m['retries']}; failed tries: {m['errors']['total']} "
        f"(by code: {_pairs(m['errors']['by_code'])}; by kind: "
        f"{_pairs(m['errors']['by_kind'])})",
        f"  push latency: p50 {_secs(m['push_latency']['p50_seconds'])}, p95 "
        f"{_secs(m['push_latency']['p95_seconds'])} over {m['push_latency']['samples']} "
        "pushes",
        f"  pull lag: {_secs(m['pull']['lag_seconds'])}",
        f"  queue: {queue['depth']} waiting ({queue['due']} due, {queue['running']} running), "
        f"{queue['parked']} parked; oldest {_secs(queue['oldest_waiting_age_seconds'])}"
        + (f" (job {queue['oldest_waiting_job']})" if queue["oldest_waiting_job"] else ""),
        f"  QuickBooks calls: {calls['total']} ({_pairs(calls['by_kind'])}); peak "
        f"{calls['peak_per_minute']}/min of {calls['limit_per_minute']}",
        f"  metered reads {reads['month']}: {reads['reads']:,} of {reads['budget']:,} "
        f"({_pct(reads['used'])})",
        f"  cost: {m['cost']['calls_per_successful_sync'] or '-'} calls per successful sync",
    ]
    for row in m["by_entity"]:
        latency = row.get("latency")
        tail = (f", p50 {_secs(latency['p50_seconds'])} p95 {_secs(latency['p95_seconds'])}"
                if latency else "")
        lines.append(f"    {row['direction']} {row['entity']} {row['action']}: "
                     f"{row['succeeded']} ok, {row['failed']} failed, {row['parked']} parked, "
                     f"{row['skipped']} skipped, {row['retries']} retries, "
                     f"success {_pct(row['success_rate'])}{tail}")
    return lines
