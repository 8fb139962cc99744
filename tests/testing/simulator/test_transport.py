"""The in-process ``requests`` transport and the pytest fixtures built on it."""

from __future__ import annotations

import io
import json
import os

import pytest
import requests
from requests.adapters import HTTPAdapter
from requests_oauthlib import OAuth2Session

from qbo_sync.testing.fixtures import SIMULATOR_BASE_URL
from qbo_sync.testing.simulator import US_REALM, Simulator
from qbo_sync.testing.simulator.transport import SimulatorAdapter, patch_requests

BASE = "http://transport.test"


def bearer(sim: Simulator) -> dict[str, str]:
    token = sim.issue_tokens(US_REALM)["access_token"]
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def test_response_is_a_complete_requests_response() -> None:
    sim = Simulator(webhook_interval=None)
    with patch_requests(sim, BASE):
        url = f"{BASE}/v3/company/{US_REALM}/companyinfo/{US_REALM}?minorversion=75"
        resp = requests.get(url, headers=bearer(sim), timeout=5)
    assert resp.status_code == 200 and resp.ok and resp.reason == "OK"
    assert resp.url == url
    assert resp.request.method == "GET" and resp.request.url == url
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers["intuit_tid"]
    assert resp.json()["CompanyInfo"]
    assert resp.text == resp.content.decode("utf-8")
    assert sim.base_url == BASE


def test_sessions_created_later_route_to_the_simulator() -> None:
    sim = Simulator(webhook_interval=None)
    with patch_requests(sim, BASE):
        assert isinstance(requests.Session().get_adapter(f"{BASE}/x"), SimulatorAdapter)
        oauth = OAuth2Session(client_id="simulator-client-id")
        assert isinstance(oauth.get_adapter(f"{BASE.upper()}/oauth2/v1/tokens/bearer"),
                          SimulatorAdapter)
        # Other URLs keep the normal transport (nothing is sent here).
        assert isinstance(requests.Session().get_adapter("https://example.com/"), HTTPAdapter)
        assert isinstance(requests.Session().get_adapter(f"{BASE}.evil.com/"), HTTPAdapter)
    assert isinstance(requests.Session().get_adapter(f"{BASE}/x"), HTTPAdapter)


def test_patches_nest_for_several_simulators() -> None:
    one, two = Simulator(webhook_interval=None), Simulator(webhook_interval=None)
    with patch_requests(one, "http://one.test"):
        with patch_requests(two, "http://two.test"):
            assert requests.Session().get_adapter("http://one.test/a").sim is one
            assert requests.Session().get_adapter("http://two.test/a").sim is two
        assert requests.Session().get_adapter("http://one.test/a").sim is one
        assert isinstance(requests.Session().get_adapter("http://two.test/a"), HTTPAdapter)


@pytest.mark.parametrize("kind", ["str", "bytes", "file", "generator"])
def test_every_body_kind_reaches_the_simulator(kind: str) -> None:
    sim = Simulator(webhook_interval=None)
    payload = json.dumps({"DisplayName": f"Body {kind}"})
    body = {"str": payload, "bytes": payload.encode(), "file": io.BytesIO(payload.encode()),
            "generator": (c for c in [payload[:5].encode(), payload[5:].encode()])}[kind]
    with patch_requests(sim, BASE):
        resp = requests.post(f"{BASE}/v3/company/{US_REALM}/customer", data=body,
                             headers={**bearer(sim), "Content-Type": "application/json"},
                             timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.json()["Customer"]["DisplayName"] == f"Body {kind}"


def test_oauth_token_endpoint_through_requests_oauthlib(monkeypatch) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the simulator speaks http
    sim = Simulator(webhook_interval=None)
    tokens = sim.issue_tokens(US_REALM)
    with patch_requests(sim, BASE):
        session = OAuth2Session(client_id="simulator-client-id", token={
            "access_token": tokens["access_token"], "token_type": "Bearer"})
        new = session.refresh_token(f"{BASE}/oauth2/v1/tokens/bearer",
                                    refresh_token=tokens["refresh_token"],
                                    auth=("simulator-client-id", "simulator-client-secret"))
        assert new["access_token"] != tokens["access_token"]
        resp = session.get(f"{BASE}/v3/company/{US_REALM}/companyinfo/{US_REALM}",
                           headers={"Accept": "application/json"})
    assert resp.status_code == 200


# the pytest plugin's fixtures --------------------------------------------------------


def test_qbo_simulator_fixture_patches_requests_and_settings(qbo_simulator: Simulator) -> None:
    from qbo_sync.conf import app_settings

    assert qbo_simulator.base_url == SIMULATOR_BASE_URL
    assert app_settings.ENVIRONMENT == "simulator"
    assert app_settings.SIMULATOR_URL == SIMULATOR_BASE_URL
    assert os.environ["OAUTHLIB_INSECURE_TRANSPORT"] == "1"
    assert app_settings.endpoints()["token_url"] == f"{SIMULATOR_BASE_URL}/oauth2/v1/tokens/bearer"
    resp = requests.get(f"{SIMULATOR_BASE_URL}/_sim/realms", timeout=5)
    assert {r["realm_id"] for r in resp.json()} >= {US_REALM}


def test_qbo_connection_fixture_is_connected_with_working_tokens(qbo_connection,
                                                                 qbo_simulator) -> None:
    from qbo_sync.models import Connection

    conn = Connection.objects.get(workspace="default")
    assert conn.is_connected and conn.realm_id == US_REALM and conn.company_name
    assert conn.access_token_valid_for(300)
    assert conn.refresh_token_expires_at > conn.access_token_expires_at
    resp = requests.get(f"{SIMULATOR_BASE_URL}/v3/company/{US_REALM}/companyinfo/{US_REALM}",
                        headers={"Authorization": f"Bearer {conn.access_token}",
                                 "Accept": "application/json"}, timeout=5)
    assert resp.status_code == 200


def test_realm_constants_are_exported_by_the_plugin() -> None:
    from qbo_sync.testing import fixtures

    assert fixtures.US_REALM == US_REALM
    with pytest.raises(AttributeError):
        fixtures.NOT_A_REALM  # noqa: B018
