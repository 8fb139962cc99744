"""A browser stand-in for the OAuth tests: it clicks through the simulator's consent
page over ``requests``. (The ``sim`` fixture is in ``tests/connection/conftest.py``.)"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import requests

from qbo_sync.testing.simulator.companies import US_REALM


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
