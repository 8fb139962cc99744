"""Single-flight token refresh without a transaction held across the call to Intuit
(docs/qbo-rules.md §1.5): a short lease on the connection row, the call outside any
transaction, a short save that re-checks, and a rotated refresh token never lost."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.db import OperationalError, connections
from django.utils import timezone

from qbo_sync.connection import oauth
from qbo_sync.exceptions import TransientError
from qbo_sync.models import Connection, SyncJob
from qbo_sync.qbo import oauth_http
from qbo_sync.secrets import Secret
from qbo_sync.testing.simulator.companies import US_REALM

from .support import CLIENT_ID, CLIENT_SECRET


def current_refresh_token(sim: Any, realm: str = US_REALM) -> str:
    live = [g for g in sim.identity.book.grants.values()
            if g["realm_id"] == realm and not g["revoked"]]
    assert len(live) == 1
    return live[0]["current_refresh"]


def refresh_at_sim(sim: Any, refresh_token: str) -> requests.Response:
    return requests.post(f"{sim.base_url}/oauth2/v1/tokens/bearer",
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                         auth=(CLIENT_ID, CLIENT_SECRET), timeout=5)


def due(conn: Connection) -> Connection:
    """``conn`` with an access token inside the refresh margin (still valid)."""
    Connection.objects.filter(pk=conn.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=100))
    return Connection.objects.get(pk=conn.pk)


@pytest.mark.django_db(transaction=True)
def test_a_hanging_token_endpoint_blocks_no_database_write(sim: Any, qbo_connect: Any,
                                                           monkeypatch: Any) -> None:
    """While Intuit does not answer, other writes (to the same row too) go through at
    once, and a second worker waits for the first one's tokens instead of refreshing."""
    conn = due(qbo_connect())
    entered, release = threading.Event(), threading.Event()
    real = oauth_http.refresh

    def hanging(token: Secret) -> dict:
        entered.set()
        assert release.wait(15), "the test never let the token call finish"
        return real(token)

    monkeypatch.setattr(oauth_http, "refresh", hanging)
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            mine = Connection.objects.get(pk=conn.pk)
            results.append(oauth.get_access_token(mine).reveal())
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=worker)
    first.start()
    try:
        assert entered.wait(10)
        assert Connection.objects.get(pk=conn.pk).refresh_lease_until is not None
        started = time.monotonic()
        SyncJob.objects.create(workspace="default", entity="invoice", action="sync")
        Connection.objects.filter(pk=conn.pk).update(company_name="Renamed meanwhile")
        assert time.monotonic() - started < 2  # nothing waited for the token call
        second = threading.Thread(target=worker)
        second.start()
        time.sleep(0.3)
        assert second.is_alive()  # waiting on the lease, not calling Intuit
    finally:
        release.set()
    first.join(20)
    second.join(20)
    assert not errors, errors
    assert sim.token_calls.count("refresh_token") == 1
    stored = Connection.objects.get(pk=conn.pk)
    assert results == [stored.access_token, stored.access_token]
    assert stored.refresh_token == current_refresh_token(sim)
    assert stored.company_name == "Renamed meanwhile"  # the save wrote only the tokens
    assert stored.refresh_lease_until is None


def test_a_live_lease_of_another_worker_is_waited_for(sim: Any, qbo_connection: Any,
                                                      monkeypatch: Any) -> None:
    """Another worker holds the lease for longer than a worker waits: a token that is
    merely close to expiry is used as it is; one QBO refused is not."""
    monkeypatch.setattr(oauth, "LEASE_WAIT", 0.2)
    conn = due(qbo_connection)
    Connection.objects.filter(pk=conn.pk).update(
        refresh_lease_until=timezone.now() + timedelta(minutes=1))
    before = conn.access_token
    assert oauth.get_access_token(conn).reveal() == before
    with pytest.raises(TransientError) as exc:
        oauth.refresh_tokens(conn, stale_access_token=before)  # as after a 401
    assert "Another worker has been refreshing" in exc.value.message
    assert "retries by itself" in exc.value.fix
    assert sim.token_calls == []


def test_the_lease_of_a_dead_worker_runs_out(sim: Any, qbo_connection: Any) -> None:
    conn = due(qbo_connection)
    Connection.objects.filter(pk=conn.pk).update(
        refresh_lease_until=timezone.now() - timedelta(seconds=1))
    oauth.refresh_tokens(conn)
    assert sim.token_calls == ["refresh_token"]
    stored = Connection.objects.get(pk=conn.pk)
    assert stored.refresh_token == current_refresh_token(sim)
    assert stored.refresh_lease_until is None


def test_a_failing_save_is_retried_so_the_rotated_token_is_kept(sim: Any, qbo_connection: Any,
                                                                 monkeypatch: Any) -> None:
    monkeypatch.setattr(oauth, "SAVE_RETRY_SECONDS", 0)
    conn = due(qbo_connection)
    real_save, failures = Connection.save, [2]

    def flaky(self: Connection, *args: Any, **kwargs: Any) -> None:
        if "refresh_token" in (kwargs.get("update_fields") or ()) and failures[0]:
            failures[0] -= 1
            raise OperationalError("database is locked")
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "save", flaky)
    oauth.refresh_tokens(conn)
    assert failures == [0] and sim.token_calls == ["refresh_token"]
    stored = Connection.objects.get(pk=conn.pk)
    assert stored.refresh_token == current_refresh_token(sim)
    assert conn.access_token == stored.access_token
    assert stored.refresh_lease_until is None


def test_a_save_that_keeps_failing_says_so(sim: Any, qbo_connection: Any, monkeypatch: Any,
                                           caplog: Any) -> None:
    monkeypatch.setattr(oauth, "SAVE_RETRY_SECONDS", 0)
    conn = due(qbo_connection)
    old_refresh = conn.refresh_token
    real_save = Connection.save

    def broken(self: Connection, *args: Any, **kwargs: Any) -> None:
        if "refresh_token" in (kwargs.get("update_fields") or ()):
            raise OperationalError("disk I/O error")
        real_save(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "save", broken)
    with caplog.at_level(logging.WARNING, logger="qbo_sync.oauth"), \
            pytest.raises(TransientError) as exc:
        oauth.refresh_tokens(conn)
    assert f"refused to save them {oauth.SAVE_ATTEMPTS} times" in exc.value.message
    assert "database accepts writes" in exc.value.fix and "24 hours" in exc.value.fix
    assert [r.levelname for r in caplog.records].count("WARNING") == oauth.SAVE_ATTEMPTS
    assert any(r.levelname == "ERROR" for r in caplog.records)
    stored = Connection.objects.get(pk=conn.pk)
    assert stored.status == Connection.Status.CONNECTED
    assert stored.refresh_lease_until is None  # the next refresh need not wait
    assert all(t not in caplog.text for t in (old_refresh, current_refresh_token(sim)))
    # The previous refresh token still works for a while (§1.5): once the database is
    # back, the next refresh succeeds.
    monkeypatch.setattr(Connection, "save", real_save)
    oauth.refresh_tokens(conn)
    assert Connection.objects.get(pk=conn.pk).refresh_token == current_refresh_token(sim)


def test_a_refresh_by_someone_else_meanwhile_is_not_overwritten(sim: Any, qbo_connection: Any,
                                                                monkeypatch: Any) -> None:
    """Our lease ran out while Intuit was answering and another worker refreshed and
    saved: its tokens stay, and ours are not written over them."""
    conn = due(qbo_connection)
    real = oauth_http.refresh
    theirs: dict[str, str] = {}

    def slow(token: Secret) -> dict:
        other = Connection.objects.get(pk=conn.pk)
        answer = real(Secret(other.refresh_token))
        oauth._apply_tokens(other, answer, timezone.now())
        other.save()
        theirs["refresh"] = other.refresh_token
        return real(token)  # ours, with the token read before theirs rotated it

    monkeypatch.setattr(oauth_http, "refresh", slow)
    oauth.refresh_tokens(conn)
    stored = Connection.objects.get(pk=conn.pk)
    assert stored.refresh_token == theirs["refresh"]
    assert conn.refresh_token == theirs["refresh"]  # the caller uses theirs too
    assert refresh_at_sim(sim, stored.refresh_token).status_code == 200


def test_no_transaction_is_open_during_the_token_call(sim: Any, qbo_connection: Any,
                                                      monkeypatch: Any) -> None:
    """Outside the test's own transaction, the token call runs in none of ours."""
    from django.db import connection as db

    depth: list[int] = []
    real = oauth_http.refresh
    outer = len(db.savepoint_ids)

    def watching(token: Secret) -> dict:
        depth.append(len(db.savepoint_ids) - outer)
        return real(token)

    monkeypatch.setattr(oauth_http, "refresh", watching)
    oauth.refresh_tokens(due(qbo_connection))
    assert depth == [0]
