"""The one way qbo_sync hands work to django-q2 workers.

Every caller already keeps the work in a row (a job, a webhook delivery, a historical
run), so a broker that refuses a task loses nothing: the failure is logged, the caller
learns it from the return value, and the schedule that sweeps those rows runs it later.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
from datetime import datetime
from typing import Any

from django.utils import timezone
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


class _HeldORM(_EnqueueORM):
    """Enqueues one task that workers see only from ``at``: django-q2's ORM broker
    hands out tasks whose ``lock`` is past, and ``enqueue`` sets it to now."""

    def __init__(self, list_key: str, at: datetime) -> None:
        super().__init__(list_key=list_key)
        self.at = at

    def enqueue(self, task: Any) -> Any:
        return self.get_connection().create(key=self.list_key or Conf.CLUSTER_NAME,
                                            payload=task, lock=self.at).pk


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


def queue_task_at(func: str, *args: Any, at: datetime, name: str) -> bool:
    """Queue ``func`` for workers to run from ``at``. True when the broker holds it (the
    ORM broker, in its table); else a timer in this process queues it at ``at`` and this
    returns False: a timer dies with its process, so the caller's sweeper stays in
    charge. Run inline (django-q2's sync mode) nothing waits: the sweeper runs it."""
    if Conf.SYNC:
        return False
    broker = shared_broker()
    if isinstance(broker, ORM):
        try:
            async_task(func, *args, task_name=name, group=GROUP,
                       broker=_HeldORM(broker.list_key, at))
        except Exception:  # noqa: BLE001 - the row is safe; its sweeper runs it
            logger.exception("could not queue %s", name)
            return False
        return True
    _timers().add(at, func, args, name)
    return False


class _Timers:
    """One thread per process that queues held-back tasks when they are due."""

    def __init__(self) -> None:
        self.due: list[tuple[datetime, int, str, tuple, str]] = []
        self.wake = threading.Condition()
        self.count = 0
        threading.Thread(target=self._run, name="qbo_sync-timers", daemon=True).start()

    def add(self, at: datetime, func: str, args: tuple, name: str) -> None:
        with self.wake:
            self.count += 1
            heapq.heappush(self.due, (at, self.count, func, args, name))
            self.wake.notify()

    def _run(self) -> None:
        while True:
            with self.wake:
                while not self.due or self.due[0][0] > timezone.now():
                    wait = (self.due[0][0] - timezone.now()).total_seconds() if self.due else None
                    self.wake.wait(wait)
                _at, _n, func, args, name = heapq.heappop(self.due)
            queue_task(func, *args, name=name)


_timer_box: tuple[int, _Timers] | None = None


def _timers() -> _Timers:
    global _timer_box
    with _lock:
        if _timer_box is None or _timer_box[0] != os.getpid():
            _timer_box = (os.getpid(), _Timers())
        return _timer_box[1]
