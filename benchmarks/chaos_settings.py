"""Settings of the chaos run (``benchmarks/chaos.py``): the example product's, with the
waits that decide how long a run takes shortened, so faults are recovered from in
seconds rather than minutes. Nothing else differs, so the run exercises the code the
product ships."""

from __future__ import annotations

import os

from example_project.settings import *  # noqa: F403
from example_project.settings import Q_CLUSTER, QBO_SYNC

QBO_SYNC = {
    **QBO_SYNC,
    # Transient failures retry after 1, 2, 4 … s instead of 60, 120 …; with one call in
    # ten failing, a job can meet several faults in a row, so it gets more tries.
    "RETRY": {"AUTO_RETRIES": 12, "BASE_DELAY": 1, "MAX_ATTEMPTS": 15},
    # A killed worker's job is taken over after a minute (the default is five).
    "JOB_LEASE_SECONDS": 60,
}
Q_CLUSTER = {
    **Q_CLUSTER,
    "name": "qbo_sync_chaos",
    "workers": int(os.environ.get("CHAOS_WORKERS_PER_CLUSTER", "2")),
    "timeout": 50,  # below the job lease: a task django-q2 kills is a dead worker
    "retry": 70,
    "log_level": "ERROR",
}
