"""Helpers for the OAuth tests: the simulator fixture they share and a browser stand-in
that clicks through the simulator's consent page over ``requests``."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from qbo_sync.testing.simulator.companies import US_REALM

BASE_QBO_SYNC = {
    "CLIENT_ID": "simulator-client-id",
    "CLIENT_SECRET": "simulator-client-secret",
    "REDIRECT_URI": None,
    "WORKSPACE_RESOLVER": "qbo_sync.permissions.default_workspace",
    "PERMISSION_CHECK": "qbo_sync.permissions.default_permission",
    "CONNECT_DONE_URL": "/admin/",
}


@pytest.fixture
def sim(qbo_simulator: Any, settings: Any) -> Iterator[Any]:
    """``qbo_simulator`` with ``QBO_SYNC`` also set to the default workspace/permission
    hooks; ``sim.token_calls`` lists the grant types sent to the token endpoint."""
    settings.QBO_SYNC = {**settings.QBO_SYNC, **BASE_QBO_SYNC}
    calls: list[str] = []
    handle = qbo_simulator.identity.handle

    def counting(req: Any) -> Any:
        if req.path.startswith("/oauth2/v1/tokens/bearer"):
            calls.append(req.form().get("grant_type", ""))
        return handle(req)

    qbo_simulator.identity.handle = counting
    qbo_simulator.token_calls = calls
    yield qbo_simulator


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.realms: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio" and a.get("name") == "realmId":
            self.realms.append(a.get("value", ""))


def click_through(authorize_url: str, *, realm: str = US_REALM,
                  action: str = "connect") -> str:
    """Open Intuit's (the simulator's) consent page and submit it like a browser;
    returns the callback URL the app is redirected to."""
    page = requests.get(authorize_url, timeout=5)
    assert page.status_code == 200, page.text
    form = _FormParser()
    form.feed(page.text)
    assert realm in form.realms
    parts = urlsplit(authorize_url)
    data = {**form.hidden, "realmId": realm, "action": action}
    answer = requests.post(f"{parts.scheme}://{parts.netloc}{form.action}", data=data,
                           allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
