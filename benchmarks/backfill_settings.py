"""Settings of the backfill benchmark (``benchmarks/bench_backfill.py``): the example
product's as shipped, with the worker count of the run and quiet logs; ``--max-wait``
sets how long a call may wait for budget (``RATE_LIMIT_MAX_WAIT``), ``--shared-budget``
where the minute budgets live (``RATE_LIMIT_STORAGE``)."""

from __future__ import annotations

import os

from example_project.settings import *  # noqa: F403
from example_project.settings import Q_CLUSTER, QBO_SYNC

Q_CLUSTER = {
    **Q_CLUSTER,
    "name": "qbo_sync_backfill",
    "workers": int(os.environ.get("BACKFILL_WORKERS", "2")),
    "log_level": "ERROR",
}
if os.environ.get("BACKFILL_MAX_WAIT"):
    QBO_SYNC = {**QBO_SYNC, "RATE_LIMIT_MAX_WAIT": float(os.environ["BACKFILL_MAX_WAIT"])}
if os.environ.get("BACKFILL_BUDGET_STORAGE"):
    QBO_SYNC = {**QBO_SYNC, "RATE_LIMIT_STORAGE": os.environ["BACKFILL_BUDGET_STORAGE"]}
