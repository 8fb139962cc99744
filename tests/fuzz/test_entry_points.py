"""Property-based: arbitrary bytes and headers at the webhook endpoint, and arbitrary
parameters at the OAuth callback (issue 13). Neither ever answers a 5xx; a webhook
without a valid signature is never stored, whatever it carries; a signed one is stored
or refused with a 400 that says why."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbo_sync.models import Connection, WebhookEvent

pytestmark = [pytest.mark.fuzz]
WEBHOOK, CALLBACK = "/qbo/webhooks/", "/qbo/callback/"
VERIFIER = "fuzz-verifier-token"
FAST = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

text = st.text(st.characters(codec="utf-8"), max_size=60)
header_names = st.sampled_from(["intuit-signature", "content-type", "intuit-t-id",
                                "cookie", "authorization", "x-forwarded-for"])
# Header values travel as latin-1 in WSGI; anything else could not arrive at all.
header_values = st.text(st.characters(codec="latin-1", exclude_categories=["Cc"]),
                        max_size=80)
bodies = st.one_of(
    st.binary(max_size=2048),
    text.map(str.encode),
    st.sampled_from([b"", b"{}", b"[]", b"null", b'{"eventNotifications": 1}',
                     b'{"eventNotifications": [{"realmId": "\\u0000"}]}',
                     b"[" * 5000, b'{"a":' * 3000, b"\x00", b"\xff\xfe"]),
)


@pytest.fixture
def webhooks_on(db: Any, settings: Any) -> Iterator[None]:
    settings.QBO_SYNC = {**settings.QBO_SYNC, "WEBHOOKS_ENABLED": True,
                         "WEBHOOK_VERIFIER_TOKEN": VERIFIER, "WEBHOOK_MAX_BYTES": 4096}
    yield


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest()).decode()


def post(body: bytes, headers: dict[str, str]) -> Any:
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()
             if k != "content-type"}
    return Client().generic("POST", WEBHOOK, body,
                            content_type=headers.get("content-type", "application/json"),
                            **extra)


@FAST
@given(body=bodies, headers=st.dictionaries(header_names, header_values, max_size=4))
def test_an_unsigned_or_forged_webhook_is_never_stored_nor_a_5xx(
        webhooks_on: None, body: bytes, headers: dict[str, str]) -> None:
    if headers.get("intuit-signature") == sign(body):  # pragma: no cover - 2^-256
        headers.pop("intuit-signature")
    before = WebhookEvent.objects.count()
    resp = post(body, headers)
    assert resp.status_code in (401, 413), (body[:80], headers, resp.content[:200])
    assert resp.json()["message"]
    assert WebhookEvent.objects.count() == before


@FAST
@given(body=bodies, headers=st.dictionaries(header_names, header_values, max_size=3))
def test_a_signed_webhook_of_any_content_is_stored_or_refused_with_a_reason(
        webhooks_on: None, body: bytes, headers: dict[str, str]) -> None:
    headers["intuit-signature"] = sign(body)
    resp = post(body, headers)
    assert resp.status_code in (200, 400, 413), (body[:80], headers, resp.content[:200])
    assert resp.json()["message"]
    if resp.status_code == 413:
        assert len(body) > 4096


@pytest.fixture
def signed_in(db: Any, qbo_simulator: Any) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_user("fuzz", is_staff=True,
                                                            is_superuser=True))
    return client


params = st.dictionaries(
    st.sampled_from(["code", "state", "realmId", "error", "error_description", "workspace"])
    | text, st.one_of(text, st.sampled_from(["", "\x00", "1/../../x", "9" * 40, "123"])),
    max_size=5)


@FAST
@given(query=params)
def test_any_callback_parameters_are_answered_without_a_5xx_or_a_connection(
        signed_in: Client, query: dict[str, str]) -> None:
    resp = signed_in.get(CALLBACK + "?" + urlencode(query))
    assert resp.status_code < 500, (query, resp.content[:300])
    # No state of a real connect request was issued, so nothing can connect.
    assert not Connection.objects.filter(status=Connection.Status.CONNECTED).exists()
