"""Each notifier, and one notifier's failure not stopping the others."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses
from django.core import mail
from django.test import override_settings

from qbo_sync.alerts import recipients
from qbo_sync.alerts.notifiers import (
    EmailNotifier,
    Event,
    Message,
    Notifier,
    WebhookNotifier,
    deliver,
)
from qbo_sync.exceptions import NotifierError

from .support import alerts

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.slack.example/services/T0/B0/SeCrEtPaRt"
MESSAGE = Message("default", "[QuickBooks sync] default: QuickBooks needs to be reconnected",
                  "New:\n• QuickBooks needs to be reconnected",
                  (Event("fired", "reconnect", "QuickBooks needs to be reconnected", "x"),))
EMAIL = "qbo_sync.alerts.notifiers.EmailNotifier"
WEBHOOK = "qbo_sync.alerts.notifiers.WebhookNotifier"


class Exploding(Notifier):
    def send(self, message):
        raise RuntimeError(f"boom {HOOK}")


def test_email_goes_to_the_workspaces_admins_and_managers(managers):
    assert EmailNotifier().send(MESSAGE) is True
    [sent] = mail.outbox
    assert sent.to == managers and sent.subject == MESSAGE.subject
    assert sent.body == MESSAGE.text and sent.from_email == "qbo-sync@localhost"


def test_email_without_recipients_sends_nothing_and_says_so(db, caplog):
    with caplog.at_level(logging.WARNING, "qbo_sync.alerts"):
        assert EmailNotifier().send(MESSAGE) is False
    assert mail.outbox == [] and "lists no address" in caplog.text


def test_the_default_recipients_hook_asks_the_permission_check(managers):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user("inactive", email="old@acme.example",
                                         is_active=False)
    get_user_model().objects.create_superuser("root", email="root@acme.example",
                                              password="x")
    # The example's PERMISSION_CHECK: superusers and the workspace's admins and managers.
    assert recipients.workspace_managers("default") == [*managers, "root@acme.example"]
    with override_settings(QBO_SYNC={"PERMISSION_CHECK": "qbo_sync.permissions."
                                     "default_permission"}):
        assert recipients.workspace_managers("default") == ["root@acme.example"]  # staff


def test_a_mail_backend_error_becomes_a_notifier_error(managers):
    with override_settings(EMAIL_BACKEND="tests.alerts.test_notifiers.BrokenBackend"):
        with pytest.raises(NotifierError, match=r"e-mail not sent \(ConnectionRefusedError\)"):
            EmailNotifier().send(MESSAGE)


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("smtp.example:25 refused")


@responses.activate
def test_the_webhook_posts_slack_compatible_json_with_a_timeout():
    responses.post(HOOK, body="ok")
    with alerts(SECRET_WEBHOOK_URL=HOOK, WEBHOOK_TIMEOUT=3):
        assert WebhookNotifier().send(MESSAGE) is True
    [call] = responses.calls
    assert json.loads(call.request.body) == {"text": f"*{MESSAGE.subject}*\n{MESSAGE.text}"}
    assert call.request.req_kwargs["timeout"] == 3


def test_no_webhook_url_means_no_webhook():
    with responses.RequestsMock() as mocked, alerts(SECRET_WEBHOOK_URL=""):
        assert WebhookNotifier().send(MESSAGE) is False
        assert not mocked.calls


@responses.activate
@pytest.mark.parametrize("reply", [{"status": 500}, {"body": requests.ConnectionError(
    f"Max retries exceeded with url: {HOOK}")}, {"body": requests.Timeout("read timed out")}])
def test_a_webhook_failure_names_the_host_never_the_url(reply):
    responses.post(HOOK, **reply)
    with alerts(SECRET_WEBHOOK_URL=HOOK), pytest.raises(NotifierError) as caught:
        WebhookNotifier().send(MESSAGE)
    assert "hooks.slack.example" in str(caught.value)
    assert "SeCrEtPaRt" not in str(caught.value) and caught.value.__cause__ is None


@responses.activate
def test_a_failing_notifier_is_logged_and_the_others_still_run(managers, caplog):
    responses.post(HOOK, status=503)
    order = [WEBHOOK, f"{__name__}.Exploding", EMAIL]
    with alerts(SECRET_WEBHOOK_URL=HOOK, NOTIFIERS=order), caplog.at_level(logging.WARNING):
        outcome = deliver(MESSAGE)
    assert outcome == {WEBHOOK: "failed", f"{__name__}.Exploding": "failed", EMAIL: "sent"}
    assert len(mail.outbox) == 1
    assert "webhook to hooks.slack.example answered HTTP 503" in caplog.text
    assert "Exploding failed for workspace default (RuntimeError)" in caplog.text
    assert "SeCrEtPaRt" not in caplog.text


def test_a_custom_notifier_receives_the_message(db):
    with alerts(NOTIFIERS=[f"{__name__}.Recording"]):
        assert deliver(MESSAGE) == {f"{__name__}.Recording": "sent"}
    assert Recording.received == [MESSAGE]


class Recording(Notifier):
    received: list = []

    def send(self, message):
        self.received.append(message)
        return True


def test_django_error_pages_mask_the_webhook_url():
    from django.views.debug import SafeExceptionReporterFilter

    with alerts(SECRET_WEBHOOK_URL=HOOK):
        shown = SafeExceptionReporterFilter().get_safe_settings()["QBO_SYNC"]["ALERTS"]
    assert shown["SECRET_WEBHOOK_URL"] != HOOK and "SeCrEtPaRt" not in str(shown)
