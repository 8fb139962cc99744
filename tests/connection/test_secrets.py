"""Secrets never show in Django's error reports (docs/architecture.md, invariant 5).

Each test makes one path fail after a secret is in scope (tokens, the client secret,
the webhook verifier) and reads what Django would show: the technical 500 page, the
traceback as HTML and text, and the admins' error mail (``AdminEmailHandler``).

``DEBUG = False`` is production: ``sensitive_variables`` then masks the frames of the
functions that handle secrets and every library frame below them. With ``DEBUG = True``
the filter is off and only the :class:`~qbo_sync.secrets.Secret` type protects, so
those runs cover the paths where every frame holding a secret is qbo_sync's own.
"""

from __future__ import annotations

import copy
import pickle
from typing import Any

import pytest
import requests
from requests_oauthlib import OAuth2Session

from qbo_sync.connection import clients, oauth
from qbo_sync.models import Connection
from qbo_sync.qbo import oauth_http
from qbo_sync.secrets import MASK, Secret

from ..oauth_sim import click_through
from .support import (
    DISCONNECT,
    assert_masked,
    assert_no_secrets,
    callback_path,
    failure_reports,
    simulator_secrets,
    start,
    view_failures,
)

BOOM = "boom after the secret was read"
both_modes = pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])


@pytest.fixture
def reporting(settings: Any, sim: Any) -> Any:
    """Error mails go to an admin (locmem outbox); ``settings.DEBUG`` is per test."""
    settings.ADMINS = [("Ops", "ops@example.com")]
    return settings


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(BOOM)


def after(original: Any) -> Any:
    """``original`` runs, then the failure: the secret it handled is in scope above."""
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise RuntimeError(BOOM)
    return wrapper


# The type --------------------------------------------------------------------------


def test_a_secret_is_masked_everywhere_but_reveal() -> None:
    secret = Secret("s3cr3t-value")
    shown = [repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret}",
             repr({"token": secret}), repr([secret])]
    assert all("s3cr3t" not in text for text in shown)
    assert repr(secret) == f"Secret('{MASK}')" and str(secret) == MASK
    assert secret.reveal() == "s3cr3t-value"
    assert Secret.of(secret) is secret and Secret.of(None).reveal() == ""
    assert not Secret("") and secret and repr(Secret("")) == "Secret('')"
    assert secret == Secret("s3cr3t-value") and secret != Secret("other")
    assert secret != "s3cr3t-value"  # never equal to the plain string
    assert copy.deepcopy(secret) is secret
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(AttributeError):
        secret._value = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        Secret(b"bytes")  # type: ignore[arg-type]


def test_tokens_leave_the_services_as_secrets(qbo_connection: Any) -> None:
    assert isinstance(oauth.get_access_token(qbo_connection), Secret)
    source = clients.client_for(qbo_connection).tokens
    assert isinstance(source.access_token(), Secret)
    assert isinstance(oauth_http.credentials()[1], Secret)


# OAuth views ------------------------------------------------------------------------


@both_modes
def test_connect_view_failing_after_the_keys_were_read(debug: bool, reporting: Any,
                                                       browser: Any, sim: Any,
                                                       monkeypatch: Any) -> None:
    reporting.DEBUG = debug
    browser.raise_request_exception = False
    monkeypatch.setattr(OAuth2Session, "authorization_url", boom)
    with view_failures() as failures:
        assert browser.get("/qbo/connect/").status_code == 500
    assert_no_secrets(failures[0], simulator_secrets(sim), shows=BOOM)


@both_modes
def test_callback_failing_after_the_code_exchange(debug: bool, reporting: Any, browser: Any,
                                                  sim: Any, monkeypatch: Any) -> None:
    """The tokens are in the callback's frames when the failure happens; the grant
    they belong to is revoked, since it is not stored."""
    reporting.DEBUG = debug
    browser.raise_request_exception = False
    path = callback_path(click_through(start(browser)))
    monkeypatch.setattr(oauth, "resume_parked", boom)
    with view_failures() as failures:
        assert browser.get(path).status_code == 500
    assert sim.token_calls == ["authorization_code"]
    assert_no_secrets(failures[0], simulator_secrets(sim), shows=BOOM)
    assert_masked(failures[0], "tokens", debug=debug)
    assert not Connection.objects.exists()
    assert all(g["revoked"] for g in sim.identity.book.grants.values())


def test_token_exchange_failing_inside_the_oauth_library(reporting: Any, browser: Any,
                                                         sim: Any, monkeypatch: Any) -> None:
    """Intuit answered, then requests-oauthlib fails: its frames hold the response, and
    ``sensitive_variables`` masks every one of them."""
    reporting.DEBUG = False
    browser.raise_request_exception = False
    path = callback_path(click_through(start(browser)))
    monkeypatch.setattr(OAuth2Session, "fetch_token", after(OAuth2Session.fetch_token))
    with view_failures() as failures:
        assert browser.get(path).status_code == 500
    assert sim.identity.book.access  # the exchange did issue tokens
    assert_no_secrets(failures[0], simulator_secrets(sim), shows=BOOM)
    assert_masked(failures[0], "secret", debug=False)


@both_modes
def test_disconnect_failing_during_the_revoke(debug: bool, reporting: Any, browser: Any,
                                              sim: Any, monkeypatch: Any) -> None:
    reporting.DEBUG = debug
    browser.raise_request_exception = False
    assert browser.get(callback_path(click_through(start(browser)))).status_code == 302
    monkeypatch.setattr(requests, "post", after(requests.post))
    with view_failures() as failures:
        assert browser.post(DISCONNECT).status_code == 500
    assert_no_secrets(failures[0], simulator_secrets(sim), shows=BOOM)
    # The tokens were forgotten before the revoke was sent, and the revoke went out.
    assert Connection.objects.get().refresh_token == ""
    assert all(g["revoked"] for g in sim.identity.book.grants.values())


# Refresh ------------------------------------------------------------------------------


def _due(conn: Connection) -> Connection:
    Connection.objects.filter(pk=conn.pk).update(access_token_expires_at=None)
    return Connection.objects.get(pk=conn.pk)


@both_modes
def test_refresh_failing_after_intuit_answered(debug: bool, reporting: Any, sim: Any,
                                               qbo_connection: Any, monkeypatch: Any) -> None:
    """Rotated tokens in hand, the save breaks (not a database error, so no retry)."""
    reporting.DEBUG = debug
    conn = _due(qbo_connection)
    monkeypatch.setattr(oauth, "_apply_tokens", boom)
    reports = failure_reports(lambda: oauth.get_access_token(conn))
    assert sim.token_calls == ["refresh_token"]
    assert_no_secrets(reports, simulator_secrets(sim), shows=BOOM)
    assert_masked(reports, "tokens", debug=debug)


def test_refresh_failing_inside_the_oauth_library(reporting: Any, sim: Any,
                                                  qbo_connection: Any,
                                                  monkeypatch: Any) -> None:
    reporting.DEBUG = False
    conn = _due(qbo_connection)
    monkeypatch.setattr(OAuth2Session, "refresh_token", after(OAuth2Session.refresh_token))
    reports = failure_reports(lambda: oauth.refresh_tokens(conn))
    assert_no_secrets(reports, simulator_secrets(sim), shows=BOOM)
    assert_masked(reports, "secret", debug=False)


def test_api_call_failing_below_the_client(reporting: Any, sim: Any, qbo_connection: Any,
                                           monkeypatch: Any) -> None:
    """The transport fails with the Authorization header built: the library frames
    below the client are masked."""
    reporting.DEBUG = False
    monkeypatch.setattr(sim, "handle", boom)
    with clients.client_for(qbo_connection) as client:
        reports = failure_reports(lambda: client.read("customer", "1"))
    assert_no_secrets(reports, simulator_secrets(sim), shows=BOOM)
    assert_masked(reports, "token", debug=False)


def test_revoke_failing_below_the_request(reporting: Any, sim: Any, qbo_connection: Any,
                                          monkeypatch: Any) -> None:
    reporting.DEBUG = False
    monkeypatch.setattr(sim, "handle", boom)
    token = Secret(qbo_connection.refresh_token)
    reports = failure_reports(lambda: oauth_http.revoke(token))
    assert_no_secrets(reports, simulator_secrets(sim), shows=BOOM)
    assert_masked(reports, "token", debug=False)
