"""The simulator's Intuit identity service, driven through ``Identity.handle`` the way
HTTP requests reach it (docs/qbo-rules.md §1)."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from qbo_sync.testing.simulator.companies import UK_REALM, US_REALM
from qbo_sync.testing.simulator.identity import Identity
from qbo_sync.testing.simulator.store import Store
from qbo_sync.testing.simulator.wire import Clock, SimRequest

CLIENT, SECRET = "simulator-client-id", "simulator-client-secret"
REDIRECT = "https://app.example.com/qbo/callback/"
SCOPE = "com.intuit.quickbooks.accounting"
FIVE_YEARS = 5 * 365 * 86400


def basic(client: str = CLIENT, secret: str = SECRET) -> dict[str, str]:
    raw = base64.b64encode(f"{client}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def form_headers(**extra: str) -> dict[str, str]:
    return {**basic(), "Content-Type": "application/x-www-form-urlencoded", **extra}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def store(clock: Clock) -> Store:
    return Store(clock)


@pytest.fixture
def identity(clock: Clock, store: Store) -> Identity:
    return Identity(clock, store, clients={CLIENT: SECRET, "other-app": "other-secret"})


def authorize_params(**over: str) -> dict[str, str]:
    params = {"client_id": CLIENT, "response_type": "code", "scope": SCOPE,
              "redirect_uri": REDIRECT, "state": "st-123"}
    params.update(over)
    return {k: v for k, v in params.items() if v is not None}


def consent(identity: Identity, realm: str = US_REALM, action: str = "connect", **over: str):
    body = {**authorize_params(**over), "realmId": realm, "action": action}
    return identity.handle(SimRequest.build("POST", "/connect/oauth2", body=urlencode(body)))


def callback_params(resp) -> dict[str, str]:
    assert resp.status == 302, resp.body
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["Location"]).query).items()}


def get_code(identity: Identity, realm: str = US_REALM) -> str:
    return callback_params(consent(identity, realm))["code"]


def token_call(identity: Identity, headers: dict[str, str] | None = None, **fields: str):
    req = SimRequest.build("POST", "/oauth2/v1/tokens/bearer",
                           headers=form_headers() if headers is None else headers,
                           body=urlencode(fields))
    return identity.handle(req)


def exchange(identity: Identity, code: str, redirect_uri: str = REDIRECT, **hdrs: str):
    return token_call(identity, form_headers(**hdrs), grant_type="authorization_code",
                      code=code, redirect_uri=redirect_uri)


def refresh(identity: Identity, token: str):
    return token_call(identity, grant_type="refresh_token", refresh_token=token)


def api_ok(identity: Identity, access_token: str, realm: str = US_REALM) -> bool:
    req = SimRequest.build("GET", f"/v3/company/{realm}/companyinfo/{realm}",
                           headers={"Authorization": f"Bearer {access_token}"})
    return identity.authenticate(req, realm) is None


# Consent page ------------------------------------------------------------------------


def test_handles_only_identity_paths(identity: Identity) -> None:
    for path in ("/connect/oauth2", "/oauth2/v1/tokens/bearer", "/v2/oauth2/tokens/revoke"):
        assert identity.handles(path)
    assert not identity.handles(f"/v3/company/{US_REALM}/invoice")


def test_consent_page_is_a_clickable_form_listing_companies(identity: Identity,
                                                            store: Store) -> None:
    resp = identity.handle(SimRequest.build("GET", "/connect/oauth2", authorize_params()))
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/html")
    html = resp.body.decode()
    assert '<form method="post" action="/connect/oauth2">' in html
    for realm in store.realms():
        assert f'name="realmId" value="{realm["realm_id"]}"' in html
        assert realm["name"] in html
    assert re.search(r'<button[^>]*value="connect"[^>]*>Connect</button>', html)
    assert re.search(r'<button[^>]*value="cancel"[^>]*>Cancel</button>', html)
    assert 'name="state" value="st-123"' in html
    assert f'name="redirect_uri" value="{REDIRECT}"' in html


def test_consent_page_escapes_reflected_values(identity: Identity) -> None:
    resp = identity.handle(SimRequest.build(
        "GET", "/connect/oauth2", authorize_params(state='"><script>x</script>')))
    assert b"<script>" not in resp.body


@pytest.mark.parametrize("over", [{"client_id": "nope"}, {"client_id": None},
                                  {"redirect_uri": None}, {"redirect_uri": "not-a-url"}])
def test_bad_client_or_redirect_uri_gets_an_error_page_not_a_redirect(
        identity: Identity, over: dict) -> None:
    resp = identity.handle(SimRequest.build("GET", "/connect/oauth2", authorize_params(**over)))
    assert resp.status == 400
    assert "Location" not in resp.headers
    assert b"<html" in resp.body


@pytest.mark.parametrize(("over", "error"), [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"scope": "openid email"}, "invalid_scope"),
    ({"scope": f"{SCOPE} com.example.bogus"}, "invalid_scope"),
    ({"scope": ""}, "invalid_scope"),
])
def test_bad_request_is_sent_back_to_the_app_with_error_and_state(
        identity: Identity, over: dict, error: str) -> None:
    resp = identity.handle(SimRequest.build("GET", "/connect/oauth2", authorize_params(**over)))
    assert callback_params(resp) == {"error": error, "state": "st-123"}
    # The form post is checked the same way (hidden fields can be edited).
    assert callback_params(consent(identity, **over)) == {"error": error, "state": "st-123"}


def test_connect_redirects_with_code_state_and_realm(identity: Identity) -> None:
    resp = consent(identity, UK_REALM, redirect_uri=REDIRECT + "?keep=1")
    location = urlsplit(resp.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = callback_params(resp)
    assert params["keep"] == "1" and params["state"] == "st-123"
    assert params["realmId"] == UK_REALM
    assert 20 < len(params["code"]) <= 512  # §1.3: codes up to 512 characters


def test_cancel_redirects_with_access_denied(identity: Identity) -> None:
    assert callback_params(consent(identity, action="cancel")) == {
        "error": "access_denied", "state": "st-123"}


def test_unknown_company_redisplays_the_form(identity: Identity) -> None:
    resp = consent(identity, realm="123")
    assert resp.status == 400 and b"Choose a company" in resp.body


def test_tampered_client_in_the_form_is_rejected(identity: Identity) -> None:
    resp = consent(identity, client_id="evil")
    assert resp.status == 400 and "Location" not in resp.headers


# Code exchange ------------------------------------------------------------------------


def test_code_exchange_returns_intuit_token_response(identity: Identity) -> None:
    resp = exchange(identity, get_code(identity))
    assert resp.status == 200, resp.body
    body = resp.parsed()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert len(body["access_token"]) >= 1000  # §1.4: about 1 KB
    assert body["refresh_token"]
    assert "x_refresh_token_hard_expires_in" not in body
    assert "intuit_tid" in resp.headers
    assert api_ok(identity, body["access_token"])


def test_hard_expiry_only_with_the_opt_in_header(identity: Identity) -> None:
    body = exchange(identity, get_code(identity),
                    **{"x-include-refresh-token-hard-expires-in": "true"}).parsed()
    assert body["x_refresh_token_hard_expires_in"] == FIVE_YEARS


def test_code_is_single_use_and_reuse_revokes_its_tokens(identity: Identity) -> None:
    code = get_code(identity)
    first = exchange(identity, code).parsed()
    second = exchange(identity, code)
    assert second.status == 400 and second.parsed()["error"] == "invalid_grant"
    assert not api_ok(identity, first["access_token"])
    assert refresh(identity, first["refresh_token"]).parsed()["error"] == "invalid_grant"


def test_code_expires(identity: Identity, clock: Clock) -> None:
    code = get_code(identity)
    clock.advance(601)
    assert exchange(identity, code).parsed()["error"] == "invalid_grant"


def test_code_needs_the_exact_redirect_uri(identity: Identity) -> None:
    code = get_code(identity)
    assert exchange(identity, code, REDIRECT.rstrip("/")).parsed()["error"] == "invalid_grant"


def test_code_is_bound_to_its_client(identity: Identity) -> None:
    resp = token_call(identity, {**basic("other-app", "other-secret"),
                                 "Content-Type": "application/x-www-form-urlencoded"},
                      grant_type="authorization_code", code=get_code(identity),
                      redirect_uri=REDIRECT)
    assert resp.parsed()["error"] == "invalid_grant"


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/x-www-form-urlencoded"},
    {**basic(secret="wrong"), "Content-Type": "application/x-www-form-urlencoded"},
    {"Authorization": "Basic !!!", "Content-Type": "application/x-www-form-urlencoded"},
])
def test_bad_or_missing_client_auth_is_401_invalid_client(identity: Identity,
                                                          headers: dict) -> None:
    resp = token_call(identity, headers, grant_type="authorization_code",
                      code=get_code(identity), redirect_uri=REDIRECT)
    assert resp.status == 401 and resp.parsed() == {"error": "invalid_client"}


def test_client_secret_post_is_accepted(identity: Identity) -> None:
    resp = token_call(identity, {"Content-Type": "application/x-www-form-urlencoded"},
                      grant_type="authorization_code", code=get_code(identity),
                      redirect_uri=REDIRECT, client_id=CLIENT, client_secret=SECRET)
    assert resp.status == 200


def test_grant_type_is_checked(identity: Identity) -> None:
    assert token_call(identity, grant_type="password").parsed()["error"] == (
        "unsupported_grant_type")
    assert token_call(identity).parsed()["error"] == "invalid_request"
    get = identity.handle(SimRequest.build("GET", "/oauth2/v1/tokens/bearer"))
    assert get.status == 405


# Refresh and rotation (§1.5) ------------------------------------------------------


def test_refresh_rotates_and_previous_token_has_a_grace_period(identity: Identity,
                                                               clock: Clock) -> None:
    first = identity.issue_tokens(US_REALM)
    second = refresh(identity, first["refresh_token"]).parsed()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    clock.advance(3600 * 23)
    # Within 24 h the superseded token still works and returns tokens again.
    again = refresh(identity, first["refresh_token"])
    assert again.status == 200 and api_ok(identity, again.parsed()["access_token"])
    clock.advance(3601)
    late = refresh(identity, first["refresh_token"])
    assert late.status == 400
    assert late.parsed()["error"] == "invalid_grant"
    # The newest token is fine.
    assert refresh(identity, again.parsed()["refresh_token"]).status == 200


def test_grace_is_configurable(clock: Clock, store: Store) -> None:
    identity = Identity(clock, store, refresh_grace=0)
    first = identity.issue_tokens(US_REALM)
    assert refresh(identity, first["refresh_token"]).status == 200
    assert refresh(identity, first["refresh_token"]).parsed()["error"] == "invalid_grant"


def test_refresh_token_idle_expiry(clock: Clock, store: Store) -> None:
    identity = Identity(clock, store, refresh_ttl=100)
    tokens = identity.issue_tokens(US_REALM)
    assert tokens["x_refresh_token_expires_in"] == 100
    clock.advance(100)
    assert refresh(identity, tokens["refresh_token"]).parsed()["error"] == "invalid_grant"


def test_chain_hard_expiry_caps_the_rolling_window(clock: Clock, store: Store) -> None:
    identity = Identity(clock, store, hard_ttl=1000, refresh_ttl=800)
    tokens = identity.issue_tokens(US_REALM, include_hard_expiry=True)
    assert tokens["x_refresh_token_hard_expires_in"] == 1000
    clock.advance(500)
    rolled = refresh(identity, tokens["refresh_token"]).parsed()
    assert rolled["x_refresh_token_expires_in"] == 500  # not 800: the chain ends at 1000
    clock.advance(500)
    assert refresh(identity, rolled["refresh_token"]).parsed()["error"] == "invalid_grant"


def test_unknown_refresh_token(identity: Identity) -> None:
    assert refresh(identity, "AB11nope").parsed()["error"] == "invalid_grant"


# API authentication (§1.7, §4) ----------------------------------------------------


def test_access_token_expires_after_access_ttl(identity: Identity, clock: Clock) -> None:
    tokens = identity.issue_tokens(US_REALM)
    clock.advance(3599)
    assert api_ok(identity, tokens["access_token"])
    clock.advance(1)
    req = SimRequest.build("GET", f"/v3/company/{US_REALM}/invoice/1",
                           headers={"Authorization": f"Bearer {tokens['access_token']}"})
    resp = identity.authenticate(req, US_REALM)
    assert resp is not None and resp.status == 401
    err = resp.parsed()["fault"]
    assert err["type"] == "AUTHENTICATION"
    assert err["error"][0]["code"] == "3200"
    assert "intuit_tid" in resp.headers


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer garbage", "Basic abc"])
def test_missing_or_bad_bearer_is_401(identity: Identity, header: str) -> None:
    req = SimRequest.build("GET", "/x", headers={"Authorization": header} if header else {})
    resp = identity.authenticate(req, US_REALM)
    assert resp is not None and resp.status == 401


def test_token_only_works_for_its_realm(identity: Identity) -> None:
    tokens = identity.issue_tokens(US_REALM)
    assert api_ok(identity, tokens["access_token"], US_REALM)
    assert not api_ok(identity, tokens["access_token"], UK_REALM)


def test_expire_access_tokens_keeps_refresh_working(identity: Identity) -> None:
    us, uk = identity.issue_tokens(US_REALM), identity.issue_tokens(UK_REALM)
    identity.expire_access_tokens(US_REALM)
    assert not api_ok(identity, us["access_token"])
    assert api_ok(identity, uk["access_token"], UK_REALM)
    assert api_ok(identity, refresh(identity, us["refresh_token"]).parsed()["access_token"])


# Revocation (§1.6) ---------------------------------------------------------------------


def revoke(identity: Identity, token: str, headers: dict | None = None):
    return identity.handle(SimRequest.build(
        "POST", "/v2/oauth2/tokens/revoke",
        headers=headers if headers is not None else {**basic(),
                                                     "Content-Type": "application/json"},
        body=json.dumps({"token": token})))


@pytest.mark.parametrize("which", ["refresh_token", "access_token"])
def test_revoke_either_token_revokes_the_grant(identity: Identity, which: str) -> None:
    tokens = identity.issue_tokens(US_REALM)
    rotated = refresh(identity, tokens["refresh_token"]).parsed()
    assert revoke(identity, rotated[which]).status == 200
    for t in (tokens, rotated):
        assert not api_ok(identity, t["access_token"])
        assert refresh(identity, t["refresh_token"]).parsed()["error"] == "invalid_grant"


def test_revoke_needs_client_auth_and_a_token(identity: Identity) -> None:
    tokens = identity.issue_tokens(US_REALM)
    assert revoke(identity, tokens["refresh_token"], headers={}).status == 401
    assert revoke(identity, "").parsed()["error"] == "invalid_request"
    other = {**basic("other-app", "other-secret"), "Content-Type": "application/json"}
    assert revoke(identity, tokens["refresh_token"], headers=other).status == 400
    assert revoke(identity, "unknown-token").status == 200  # RFC 7009 §2.2
    assert api_ok(identity, tokens["access_token"])


def test_revoke_realm_is_a_disconnect_from_quickbooks(identity: Identity) -> None:
    us, uk = identity.issue_tokens(US_REALM), identity.issue_tokens(UK_REALM)
    identity.revoke_realm(US_REALM)
    assert refresh(identity, us["refresh_token"]).parsed()["error"] == "invalid_grant"
    assert refresh(identity, uk["refresh_token"]).status == 200


def test_issue_tokens_unknown_realm(identity: Identity) -> None:
    with pytest.raises(KeyError):
        identity.issue_tokens("999")


# Persistence ------------------------------------------------------------------------


def test_round_trip_keeps_codes_tokens_and_rotation(identity: Identity, clock: Clock,
                                                    store: Store) -> None:
    first = identity.issue_tokens(US_REALM)
    second = refresh(identity, first["refresh_token"]).parsed()
    code = get_code(identity)
    revoked = identity.issue_tokens(UK_REALM)
    identity.revoke_realm(UK_REALM)

    data = json.loads(json.dumps(identity.to_dict()))
    restored = Identity.from_dict(data, clock, store)
    assert restored.clients == identity.clients
    assert api_ok(restored, second["access_token"])
    assert not api_ok(restored, revoked["access_token"], UK_REALM)
    assert exchange(restored, code).status == 200
    clock.advance(86401)  # the superseded token's grace ends, the newest lives on
    assert refresh(restored, first["refresh_token"]).parsed()["error"] == "invalid_grant"
    assert refresh(restored, second["refresh_token"]).status == 200


def test_from_dict_keywords_override_saved_settings(identity: Identity, clock: Clock,
                                                    store: Store) -> None:
    restored = Identity.from_dict(identity.to_dict(), clock, store, access_ttl=60)
    assert restored.issue_tokens(US_REALM)["expires_in"] == 60
