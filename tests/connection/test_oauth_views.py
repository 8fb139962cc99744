"""The connect / callback / disconnect views, end to end with Django's test client and
the in-process simulator's consent page (docs/qbo-rules.md §1.3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.utils import timezone

from qbo_sync.models import Connection, OAuthState, SyncJob
from qbo_sync.testing.simulator.companies import UK_REALM, US_REALM

from ..oauth_sim import click_through, query
from .support import CALLBACK, CONNECT, DISCONNECT, callback_path, start


def test_full_flow_connects_with_company_name(browser: Any, sim: Any) -> None:
    authorize = start(browser)
    assert authorize.startswith(f"{sim.base_url}/connect/oauth2?")
    assert query(authorize)["redirect_uri"] == "http://testserver/qbo/callback/"
    back = click_through(authorize, realm=UK_REALM)
    resp = browser.get(callback_path(back))
    assert resp.status_code == 302 and resp["Location"] == "/admin/"
    conn = Connection.objects.get(workspace="default")
    assert conn.status == Connection.Status.CONNECTED
    assert conn.realm_id == UK_REALM and conn.company_name == "Simulated UK Ltd"
    assert [str(m) for m in get_messages(resp.wsgi_request)] == [
        "Connected to QuickBooks company Simulated UK Ltd."]


def test_redirect_uri_setting_wins(browser: Any, sim: Any, settings: Any) -> None:
    settings.QBO_SYNC = {**settings.QBO_SYNC, "REDIRECT_URI": "https://app.example/cb/"}
    assert query(start(browser))["redirect_uri"] == "https://app.example/cb/"


def test_connect_needs_login_and_permission(client: Any, sim: Any, db: Any) -> None:
    resp = client.get(CONNECT)
    assert resp.status_code == 302 and "login" in resp["Location"]
    client.force_login(get_user_model().objects.create_user("eve", password="pw"))
    assert client.get(CONNECT).status_code == 403
    assert not OAuthState.objects.exists()


def test_connect_without_keys_explains_the_setting(browser: Any, sim: Any,
                                                   settings: Any) -> None:
    settings.QBO_SYNC = {**settings.QBO_SYNC, "CLIENT_SECRET": ""}
    resp = browser.get(CONNECT)
    assert resp.status_code == 500
    assert b"CLIENT_SECRET" in resp.content


def test_forged_state_is_rejected(browser: Any, sim: Any) -> None:
    back = click_through(start(browser))
    params = {**query(back), "state": "forged"}
    resp = browser.get(f"{CALLBACK}?{urlencode(params)}")
    assert resp.status_code == 400
    assert b"unknown state" in resp.content and b"Connect" in resp.content
    assert not Connection.objects.exists()


def test_replayed_callback_is_rejected(browser: Any, sim: Any) -> None:
    path = callback_path(click_through(start(browser)))
    assert browser.get(path).status_code == 302
    replay = browser.get(path)
    assert replay.status_code == 400 and b"already used" in replay.content


def test_reused_code_with_a_new_state_is_rejected(browser: Any, sim: Any) -> None:
    first = query(click_through(start(browser)))
    assert browser.get(f"{CALLBACK}?{urlencode(first)}").status_code == 302
    fresh_state = query(start(browser))["state"]
    resp = browser.get(f"{CALLBACK}?{urlencode({**first, 'state': fresh_state})}")
    assert resp.status_code == 400
    assert b"expired or was already used" in resp.content


def test_expired_state(browser: Any, sim: Any) -> None:
    path = callback_path(click_through(start(browser)))
    OAuthState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    resp = browser.get(path)
    assert resp.status_code == 400 and b"expired" in resp.content
    assert not Connection.objects.exists()


def test_state_of_another_user(browser: Any, sim: Any, db: Any) -> None:
    path = callback_path(click_through(start(browser)))
    browser.force_login(get_user_model().objects.create_user("bob", password="x",
                                                             is_staff=True))
    resp = browser.get(path)
    assert resp.status_code == 400 and b"another user" in resp.content


def test_missing_realm_id(browser: Any, sim: Any) -> None:
    params = query(click_through(start(browser)))
    del params["realmId"]
    resp = browser.get(f"{CALLBACK}?{urlencode(params)}")
    assert resp.status_code == 400 and b"no realmId" in resp.content


def test_realm_id_spelled_snake_case(browser: Any, sim: Any) -> None:
    params = query(click_through(start(browser)))
    params["realm_id"] = params.pop("realmId")
    resp = browser.get(f"{CALLBACK}?{urlencode(params)}")
    assert resp.status_code == 400
    assert b"&#x27;realm_id&#x27; but no &#x27;realmId&#x27;" in resp.content
    # Nothing was spent: the corrected callback still works.
    params["realmId"] = params.pop("realm_id")
    assert browser.get(f"{CALLBACK}?{urlencode(params)}").status_code == 302


def test_cancel_shows_a_clear_page(browser: Any, sim: Any) -> None:
    parked = SyncJob.objects.create(workspace="default", entity="invoice", action="create",
                                    status=SyncJob.Status.PARKED)
    resp = browser.get(callback_path(click_through(start(browser), action="cancel")))
    assert resp.status_code == 200
    assert b"Connection cancelled" in resp.content
    assert not Connection.objects.exists()
    assert OAuthState.objects.get().used_at is not None
    assert SyncJob.objects.get(pk=parked.pk).status == SyncJob.Status.PARKED


def test_callback_needs_permission_for_the_state_workspace(browser: Any, sim: Any,
                                                           staff: Any) -> None:
    path = callback_path(click_through(start(browser)))
    staff.is_staff = False
    staff.save()
    assert browser.get(path).status_code == 403
    assert not Connection.objects.exists()


def test_disconnect_is_post_only_and_revokes(browser: Any, sim: Any) -> None:
    browser.get(callback_path(click_through(start(browser), realm=US_REALM)))
    conn = Connection.objects.get()
    old_refresh = conn.refresh_token
    assert browser.get(DISCONNECT).status_code == 405
    resp = browser.post(DISCONNECT)
    assert resp.status_code == 302 and resp["Location"] == "/admin/"
    conn.refresh_from_db()
    assert conn.status == Connection.Status.DISCONNECTED and conn.refresh_token == ""
    refused = requests.post(
        f"{sim.base_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": old_refresh},
        auth=("simulator-client-id", "simulator-client-secret"), timeout=5)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_disconnect_needs_permission(client: Any, sim: Any, db: Any) -> None:
    client.force_login(get_user_model().objects.create_user("eve", password="pw"))
    assert client.post(DISCONNECT).status_code == 403
