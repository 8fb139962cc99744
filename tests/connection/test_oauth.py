"""qbo_sync.oauth against the in-process simulator: connect, refresh (single-flight,
rotation), invalid_grant, disconnect, and secrets at rest (docs/qbo-rules.md §1)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import requests
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError, connections
from django.db import connection as db_connection
from django.utils import timezone

from qbo_sync.connection import oauth
from qbo_sync.exceptions import ConfigurationError, ReconnectRequired, TokenRefreshFailed
from qbo_sync.models import KEY_CANARY, Connection, EntityLink, OAuthState, SyncJob
from qbo_sync.testing.simulator.companies import UK_REALM, US_REALM

from ..oauth_sim import click_through, query

REDIRECT = "http://testserver/qbo/callback/"


@pytest.fixture
def user(db: Any) -> Any:
    return get_user_model().objects.create_user("ada", password="pw", is_staff=True)


def connect(user: Any, realm: str = US_REALM, workspace: str = "default") -> Connection:
    url = oauth.start_connect(workspace=workspace, user=user, redirect_uri=REDIRECT)
    params = query(click_through(url, realm=realm))
    return oauth.complete_connect(code=params["code"], state=params["state"],
                                  realm_id=params["realmId"], user=user, params=params)


def refresh_at_sim(sim: Any, refresh_token: str) -> requests.Response:
    return requests.post(f"{sim.base_url}/oauth2/v1/tokens/bearer",
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                         auth=("simulator-client-id", "simulator-client-secret"), timeout=5)


def current_refresh_token(sim: Any, realm: str = US_REALM) -> str:
    book = sim.identity.book
    live = [g for g in book.grants.values() if g["realm_id"] == realm and not g["revoked"]]
    assert len(live) == 1
    return live[0]["current_refresh"]


def make_job(status: str, error_type: str = "", workspace: str = "default") -> SyncJob:
    return SyncJob.objects.create(workspace=workspace, entity="invoice", action="create",
                                  status=status, error={"type": error_type} if error_type else {})


# Connect --------------------------------------------------------------------------


def test_start_connect_builds_the_authorize_url_and_a_state(sim: Any, user: Any) -> None:
    url = oauth.start_connect(workspace="default", user=user, redirect_uri=REDIRECT)
    assert url.startswith(f"{sim.base_url}/connect/oauth2?")
    params = query(url)
    assert params["client_id"] == "simulator-client-id"
    assert params["response_type"] == "code"
    assert params["scope"] == "com.intuit.quickbooks.accounting"
    assert params["redirect_uri"] == REDIRECT
    state = OAuthState.objects.get(state=params["state"])
    assert state.user == user and state.workspace == "default" and state.used_at is None
    ttl = (state.expires_at - state.created_at).total_seconds()
    assert 595 <= ttl <= 605


def test_start_connect_names_missing_keys(sim: Any, user: Any, settings: Any) -> None:
    settings.QBO_SYNC = {**settings.QBO_SYNC, "CLIENT_ID": ""}
    with pytest.raises(ConfigurationError) as exc:
        oauth.start_connect(workspace="default", user=user, redirect_uri=REDIRECT)
    assert "CLIENT_ID" in exc.value.fix


def test_complete_connect_stores_everything(sim: Any, user: Any) -> None:
    parked = make_job(SyncJob.Status.PARKED)
    conn = connect(user, UK_REALM)
    conn.refresh_from_db()
    assert conn.status == Connection.Status.CONNECTED
    assert conn.realm_id == UK_REALM and conn.company_name == "Simulated UK Ltd"
    assert conn.connected_by == user and conn.connected_at is not None
    assert conn.key_canary == KEY_CANARY
    assert conn.refresh_token == current_refresh_token(sim, UK_REALM)
    now = timezone.now()
    assert timedelta(minutes=59) < conn.access_token_expires_at - now <= timedelta(hours=1)
    assert timedelta(days=100) < conn.refresh_token_expires_at - now <= timedelta(days=101)
    # The hard expiry is asked for with the opt-in header (§1.4).
    assert conn.refresh_token_hard_expires_at - now > timedelta(days=5 * 365 - 1)
    parked.refresh_from_db()
    assert parked.status == SyncJob.Status.PENDING
    assert parked.next_attempt_at <= timezone.now()


def test_one_company_per_workspace(sim: Any, user: Any) -> None:
    connect(user, US_REALM, workspace="a")
    with pytest.raises(oauth.ConnectError) as exc:
        connect(user, US_REALM, workspace="b")
    assert "another workspace" in exc.value.message
    assert not Connection.objects.filter(workspace="b").exists()


def test_switching_company_with_links_is_refused(sim: Any, user: Any) -> None:
    conn = connect(user, US_REALM)
    EntityLink.objects.create(connection=conn, object_id="1", qbo_type="Invoice", qbo_id="9",
                              content_type=ContentType.objects.get_for_model(Connection))
    with pytest.raises(oauth.ConnectError) as exc:
        connect(user, UK_REALM)
    assert US_REALM in exc.value.fix
    conn.refresh_from_db()
    assert conn.realm_id == US_REALM


# Access tokens and refresh (§1.5) -----------------------------------------------------


def test_fresh_token_is_used_without_a_call(sim: Any, user: Any) -> None:
    conn = connect(user)
    calls = len(sim.token_calls)
    assert oauth.get_access_token(conn).reveal() == conn.access_token
    assert len(sim.token_calls) == calls


def test_refresh_before_expiry(sim: Any, user: Any) -> None:
    conn = connect(user)
    old_access, old_refresh = conn.access_token, conn.refresh_token
    Connection.objects.filter(pk=conn.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=100))  # < margin 300
    conn.refresh_from_db()
    token = oauth.get_access_token(conn).reveal()
    assert token != old_access and sim.token_calls[-1] == "refresh_token"
    stored = Connection.objects.get(pk=conn.pk)
    assert stored.access_token == token
    assert stored.refresh_token != old_refresh
    assert stored.refresh_token == current_refresh_token(sim)
    assert stored.access_token_valid_for(3000)


def test_refresh_on_demand_and_someone_elses_refresh_is_reused(sim: Any, user: Any) -> None:
    conn = connect(user)
    stale = conn.access_token
    sim.identity.expire_access_tokens(US_REALM)  # the API now answers 401 to `stale`
    oauth.refresh_tokens(conn, stale_access_token=stale)
    assert conn.access_token != stale
    calls = len(sim.token_calls)
    # A second worker that also saw the 401 with `stale` takes the new token, no call.
    other = Connection.objects.get(pk=conn.pk)
    other.access_token = stale
    oauth.refresh_tokens(other, stale_access_token=stale)
    assert other.access_token == conn.access_token
    assert len(sim.token_calls) == calls


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshers_never_lose_the_rotated_token(sim: Any) -> None:
    user = get_user_model().objects.create_user("bob", is_staff=True)
    conn = connect(user)
    stale = conn.access_token
    sim.identity.book.refresh_grace = 0  # a superseded token fails at once: strictest case
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    results: list[str] = []

    def refresh_waiting_for_the_lock(mine: Connection) -> str:
        # The in-memory SQLite test database shares one cache between connections, and
        # SQLite then answers "table is locked" at once instead of waiting out the busy
        # timeout as a file database (and PostgreSQL's row lock) does. Wait here instead.
        deadline = time.monotonic() + 20
        while True:
            try:
                return oauth.refresh_tokens(mine, stale_access_token=stale).access_token
            except OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.005)

    def worker() -> None:
        try:
            mine = Connection.objects.get(pk=conn.pk)
            start.wait()
            results.append(refresh_waiting_for_the_lock(mine))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sim.token_calls.count("refresh_token") == 1
    stored = Connection.objects.get(pk=conn.pk)
    assert results == [stored.access_token, stored.access_token]
    assert stored.status == Connection.Status.CONNECTED
    assert stored.refresh_token == current_refresh_token(sim)
    assert refresh_at_sim(sim, stored.refresh_token).status_code == 200


def test_invalid_grant_parks_jobs_and_reconnect_resumes_them(sim: Any, user: Any) -> None:
    conn = connect(user)
    pending = make_job(SyncJob.Status.PENDING)
    transient = make_job(SyncJob.Status.FAILED, "NetworkError")
    auth = make_job(SyncJob.Status.FAILED, "AuthenticationFailed")
    bad_data = make_job(SyncJob.Status.FAILED, "DuplicateNameError")
    done = make_job(SyncJob.Status.SUCCEEDED)
    other_ws = make_job(SyncJob.Status.PENDING, workspace="elsewhere")
    sim.identity.revoke_realm(US_REALM)  # the user disconnected inside QuickBooks
    with pytest.raises(TokenRefreshFailed) as exc:
        oauth.refresh_tokens(conn)
    assert "Reconnect" in exc.value.fix
    conn.refresh_from_db()
    assert conn.status == Connection.Status.ERROR and "Reconnect" in conn.status_reason
    status = {j.pk: j.status for j in SyncJob.objects.all()}
    for job in (pending, transient, auth):
        assert status[job.pk] == SyncJob.Status.PARKED
    assert status[bad_data.pk] == SyncJob.Status.FAILED
    assert status[done.pk] == SyncJob.Status.SUCCEEDED
    assert status[other_ws.pk] == SyncJob.Status.PENDING
    with pytest.raises(ReconnectRequired):
        oauth.get_access_token(conn)

    connect(user)
    conn.refresh_from_db()
    assert conn.status == Connection.Status.CONNECTED and conn.status_reason == ""
    for job in (pending, transient, auth):
        job.refresh_from_db()
        assert job.status == SyncJob.Status.PENDING


def test_invalid_client_names_the_settings(sim: Any, user: Any, settings: Any) -> None:
    conn = connect(user)
    settings.QBO_SYNC = {**settings.QBO_SYNC, "CLIENT_SECRET": "wrong"}
    with pytest.raises(ConfigurationError) as exc:
        oauth.refresh_tokens(conn)
    assert "CLIENT_ID" in exc.value.fix and "CLIENT_SECRET" in exc.value.fix
    conn.refresh_from_db()
    assert conn.status == Connection.Status.CONNECTED


# Disconnect (§1.6) ---------------------------------------------------------------------


def test_disconnect_revokes_and_keeps_history(sim: Any, user: Any) -> None:
    conn = connect(user)
    old_refresh = conn.refresh_token
    link = EntityLink.objects.create(
        connection=conn, object_id="1", qbo_type="Invoice", qbo_id="9",
        content_type=ContentType.objects.get_for_model(Connection))
    done = make_job(SyncJob.Status.SUCCEEDED)
    pending = make_job(SyncJob.Status.PENDING)
    oauth.disconnect(conn, user=user)
    conn.refresh_from_db()
    assert conn.status == Connection.Status.DISCONNECTED and "ada" in conn.status_reason
    assert conn.access_token == "" and conn.refresh_token == ""
    assert conn.realm_id == US_REALM and conn.disconnected_at is not None
    answer = refresh_at_sim(sim, old_refresh)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert EntityLink.objects.filter(pk=link.pk).exists()
    assert SyncJob.objects.get(pk=done.pk).status == SyncJob.Status.SUCCEEDED
    assert SyncJob.objects.get(pk=pending.pk).status == SyncJob.Status.PARKED


def test_disconnect_still_forgets_tokens_when_revoke_fails(sim: Any, user: Any,
                                                            settings: Any) -> None:
    conn = connect(user)
    settings.QBO_SYNC = {**settings.QBO_SYNC, "CLIENT_SECRET": "wrong"}  # revoke → 401
    oauth.disconnect(conn)
    conn.refresh_from_db()
    assert conn.status == Connection.Status.DISCONNECTED and conn.refresh_token == ""


# Secrets (docs/architecture.md, invariant 5) ----------------------------------------


def test_tokens_are_encrypted_at_rest(sim: Any, user: Any) -> None:
    conn = connect(user)
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token, key_canary FROM "
                       f"{Connection._meta.db_table} WHERE id = %s", [conn.pk])
        raw = cursor.fetchone()
    assert all(raw)
    assert conn.access_token not in raw[0] and conn.refresh_token not in raw[1]
    assert KEY_CANARY not in raw[2]
    again = Connection.objects.get(pk=conn.pk)
    assert again.access_token == conn.access_token
    assert again.refresh_token == conn.refresh_token


def test_tokens_never_reach_logs_or_reprs(sim: Any, user: Any, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    conn = connect(user)
    seen = [conn.access_token, conn.refresh_token]
    oauth.refresh_tokens(conn)
    seen += [conn.access_token, conn.refresh_token]
    sim.identity.revoke_realm(US_REALM)
    with pytest.raises(TokenRefreshFailed) as exc:
        oauth.refresh_tokens(conn)
    oauth.disconnect(conn)
    text = caplog.text + repr(conn) + str(conn) + str(exc.value) + repr(exc.value.as_dict())
    assert caplog.records  # the flow did log something
    for token in seen:
        assert token not in text
