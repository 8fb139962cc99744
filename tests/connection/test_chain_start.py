"""The refresh-token chain's start (docs/qbo-rules.md §1.5): set by each authorization,
kept by refreshes, forgotten on disconnect."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from qbo_sync.connection import oauth
from qbo_sync.models import Connection

from ..oauth_sim import click_through, query


def connect(user: Any) -> Connection:
    url = oauth.start_connect(workspace="default", user=user,
                              redirect_uri="http://testserver/qbo/callback/")
    params = query(click_through(url))
    return oauth.complete_connect(code=params["code"], state=params["state"],
                                  realm_id=params["realmId"], user=user, params=params)


def test_connect_starts_the_chain_and_a_refresh_keeps_it(sim: Any, staff: Any) -> None:
    before = timezone.now()
    conn = connect(staff)
    started = Connection.objects.get(pk=conn.pk).refresh_chain_started_at
    assert before <= started <= timezone.now()
    Connection.objects.filter(pk=conn.pk).update(
        access_token_expires_at=timezone.now() + timedelta(seconds=10))
    conn.refresh_from_db()
    oauth.get_access_token(conn)
    assert sim.token_calls[-1] == "refresh_token"
    stored = Connection.objects.get(pk=conn.pk)
    assert stored.token_refreshed_at > started and stored.refresh_chain_started_at == started


def test_a_reconnect_starts_a_new_chain_and_disconnect_forgets_it(sim: Any,
                                                                 staff: Any) -> None:
    first = connect(staff).refresh_chain_started_at
    second = connect(staff).refresh_chain_started_at
    assert second > first
    conn = Connection.objects.get(workspace="default")
    oauth.disconnect(conn, user=staff)
    assert Connection.objects.get(pk=conn.pk).refresh_chain_started_at is None
    assert conn.refresh_chain_started_at is None
