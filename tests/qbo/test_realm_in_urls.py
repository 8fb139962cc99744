"""The realm id goes into URL paths percent-encoded, and the bearer token is added by
an auth object that shows it masked (docs/qbo-rules.md §2.1, §2.2)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import responses

from qbo_sync.qbo import oauth_http
from qbo_sync.qbo.client import BearerAuth, QBOClient
from qbo_sync.secrets import MASK, Secret

API = "http://qbo.test"
ODD_REALM = "1/../../../x?y#z"
QUOTED = "1%2F..%2F..%2F..%2Fx%3Fy%23z"


class StaticTokens:
    def access_token(self) -> Secret:
        return Secret("token-1")

    def refresh(self, stale: Secret) -> Secret:
        raise AssertionError("no refresh expected")


@pytest.fixture
def http(settings: Any) -> Any:
    settings.QBO_SYNC = {"ENVIRONMENT": "simulator", "SIMULATOR_URL": API,
                         "RATE_LIMIT_ENABLED": False}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(re.compile(rf"{API}/.*"),
                 body=json.dumps({"Customer": {"Id": "1"},
                                  "CompanyInfo": {"CompanyName": "Odd Co"}}))
        yield mock


def test_the_client_quotes_the_realm_in_the_path(http: Any) -> None:
    QBOClient(ODD_REALM, StaticTokens()).read("customer", "1")
    (call,) = http.calls
    assert call.request.path_url.startswith(f"/v3/company/{QUOTED}/customer/1?")
    assert call.request.headers["Authorization"] == "Bearer token-1"


def test_company_info_quotes_the_realm_twice(http: Any) -> None:
    info = oauth_http.company_info(ODD_REALM, Secret("token-1"))
    assert info == {"CompanyName": "Odd Co"}
    (call,) = http.calls
    assert call.request.path_url.startswith(f"/v3/company/{QUOTED}/companyinfo/{QUOTED}?")
    assert call.request.headers["Authorization"] == "Bearer token-1"


def test_the_auth_objects_show_no_secret() -> None:
    bearer = BearerAuth(Secret("token-1"))
    client = oauth_http.ClientAuth("id", Secret("client-secret"), token=Secret("token-2"))
    shown = repr(bearer) + repr(client) + str(bearer) + str(client)
    assert MASK in shown
    assert all(s not in shown for s in ("token-1", "client-secret", "token-2"))
