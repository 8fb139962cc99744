"""One broker per process, reused, and the ORM broker's enqueue keeps the caller's
database connection."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from qbo_sync.sync import queue


@pytest.fixture(autouse=True)
def fresh_broker(monkeypatch):
    monkeypatch.setattr(queue, "_shared", None)


def test_the_broker_is_built_once_per_process(db, monkeypatch):
    built = []
    real = queue.get_broker
    monkeypatch.setattr(queue, "get_broker", lambda: built.append(1) or real())
    first = queue.shared_broker()
    assert all(queue.shared_broker() is first for _ in range(50))
    assert built == [1]
    # A forked child builds its own.
    child = os.getpid() + 1
    monkeypatch.setattr(queue.os, "getpid", lambda: child)
    assert queue.shared_broker() is not first and built == [1, 1]


def test_enqueueing_on_the_orm_broker_keeps_the_database_connection(transactional_db,
                                                                     monkeypatch):
    broker = queue.shared_broker()
    if not isinstance(broker, queue.ORM):
        pytest.skip("this stack uses another broker")
    # Django's default CONN_MAX_AGE of 0, which a host may keep: outside a transaction
    # (as on_commit callbacks run), django-q2's own ORM broker closes the connection on
    # every enqueue...
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    connection.close()
    connection.ensure_connection()
    before = connection.connection
    queue.ORM(list_key=broker.list_key).enqueue("stock")
    assert connection.connection is not before
    # ...the shared one does not.
    connection.ensure_connection()
    before = connection.connection
    for n in range(3):
        broker.enqueue(f"task {n}")
    assert connection.connection is before  # no close, no reconnect
    assert queue.OrmQ.objects.count() == 4
