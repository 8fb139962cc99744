"""Settings of the backfill benchmark (``benchmarks/bench_backfill.py``): the example
product's as shipped, with the worker count of the run and quiet logs."""

from __future__ import annotations

import os

from example_project.settings import *  # noqa: F403
from example_project.settings import Q_CLUSTER

Q_CLUSTER = {
    **Q_CLUSTER,
    "name": "qbo_sync_backfill",
    "workers": int(os.environ.get("BACKFILL_WORKERS", "2")),
    "log_level": "ERROR",
}
