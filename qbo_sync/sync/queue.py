"""The one way qbo_sync hands work to django-q2 workers.

Every caller already keeps the work in a row (a job, a webhook delivery, a historical
run), so a broker that refuses a task loses nothing: the failure is logged, the caller
learns it from the return value, and the schedule that sweeps those rows runs it later.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.tasks import async_task

logger = logging.getLogger("qbo_sync.queue")

GROUP = "qbo_sync"


class _EnqueueORM(ORM):
    """The ORM broker for enqueueing only: django-q2's closes the caller's database
    connection on every call (right for its long-lived cluster thread, wasteful in a
    request or a job, where it costs a reconnect per task)."""

    @staticmethod
    def get_connection(list_key: str | None = None) -> Any:
        return OrmQ.objects.using(Conf.ORM)


_shared: tuple[int, Broker] | None = None
_lock = threading.Lock()


def shared_broker() -> Broker:
    """One broker per process, reused: ``async_task`` would build a new one (a new Redis
    connection) per call. Rebuilt after a fork, whose child must not share a socket."""
    global _shared
    with _lock:
        if _shared is None or _shared[0] != os.getpid():
            broker = get_broker()
            if isinstance(broker, ORM):
                broker = _EnqueueORM(list_key=broker.list_key)
            _shared = (os.getpid(), broker)
        return _shared[1]


def queue_task(func: str, *args: Any, name: str, **kwargs: Any) -> bool:
    """Queue ``func`` (a dotted path in :mod:`qbo_sync.tasks`); False if the broker
    refused it."""
    try:
        async_task(func, *args, task_name=name, group=GROUP, broker=shared_broker(),
                   **kwargs)
    except Exception:  # noqa: BLE001 - the row is safe; its sweeper or schedule runs it
        logger.exception("could not queue %s", name)
        return False
    return True
