"""The webhook verifier token never shows in Django's error reports (docs/architecture.md,
invariant 5): a delivery whose handling fails after the verifier was read, in the
view's verification and after it. See tests/connection/test_secrets.py for the rest."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from qbo_sync.pull import notices, webhooks
from qbo_sync.testing.simulator.companies import US_REALM
from qbo_sync.testing.simulator.webhooks import sign

from ..connection.support import VERIFIER, assert_masked, assert_no_secrets, view_failures
from .support import webhooks_on

pytestmark = pytest.mark.django_db
BOOM = "boom after the verifier was read"
BODY = json.dumps([{"specversion": "1.0", "id": "ev-1", "type": "qbo.payment.created.v1",
                    "intuitaccountid": US_REALM, "intuitentityid": "9"}]).encode()


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError(BOOM)


def deliver_failing() -> list[dict[str, str]]:
    client = Client(raise_request_exception=False)
    with webhooks_on(), view_failures() as failures:
        resp = client.post(reverse("qbo_sync:webhooks"), data=BODY,
                           content_type="application/cloudevents+json",
                           headers={"intuit-signature": sign(BODY, VERIFIER)})
    assert resp.status_code == 500
    assert len(failures) == 1
    return failures


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_processing_fails_after_the_verifier_was_read(debug: bool, settings: Any,
                                                      qbo_simulator: Any,
                                                      monkeypatch: Any) -> None:
    settings.ADMINS, settings.DEBUG = [("Ops", "ops@example.com")], debug
    monkeypatch.setattr(webhooks, "parse", boom)  # runs once the signature checked out
    reports = deliver_failing()[0]
    assert_no_secrets(reports, [VERIFIER], shows=BOOM)
    assert_masked(reports, "verifier", debug=debug)


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_the_signature_check_fails_midway(debug: bool, settings: Any, qbo_simulator: Any,
                                          monkeypatch: Any) -> None:
    settings.ADMINS, settings.DEBUG = [("Ops", "ops@example.com")], debug
    monkeypatch.setattr(notices, "base64", SimpleNamespace(b64encode=boom))  # after the HMAC
    reports = deliver_failing()[0]
    assert_no_secrets(reports, [VERIFIER], shows=BOOM)
    assert_masked(reports, "verifier", debug=debug)
