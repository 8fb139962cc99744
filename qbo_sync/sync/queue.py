"""The one way qbo_sync hands work to django-q2 workers.

Every caller already keeps the work in a row (a job, a webhook delivery, a historical
run), so a broker that refuses a task loses nothing: the failure is logged, the caller
learns it from the return value, and the schedule that sweeps those rows runs it later.
"""

from __future__ import annotations

import logging
from typing import Any

from django_q.tasks import async_task

logger = logging.getLogger("qbo_sync.queue")

GROUP = "qbo_sync"


def queue_task(func: str, *args: Any, name: str, **kwargs: Any) -> bool:
    """Queue ``func`` (a dotted path in :mod:`qbo_sync.tasks`); False if the broker
    refused it."""
    try:
        async_task(func, *args, task_name=name, group=GROUP, **kwargs)
    except Exception:  # noqa: BLE001 - the row is safe; its sweeper or schedule runs it
        logger.exception("could not queue %s", name)
        return False
    return True
