"""How alerts reach a person: one interface, :class:`Notifier`, and the notifiers
named in ``QBO_SYNC["ALERTS"]["NOTIFIERS"]``. :func:`deliver` hands a message to each;
one that fails is logged and the others still run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.core.mail import EmailMessage

from ..exceptions import NotifierError
from ..secrets import Secret
from .config import alert_settings, load

logger = logging.getLogger("qbo_sync.alerts")


@dataclass(frozen=True)
class Event:
    """One alert in a message: ``kind`` is ``fired``, ``repeated``, ``resolved`` or
    ``active`` (a digest's still-open alert)."""

    kind: str
    rule: str
    title: str
    detail: str
    subject: str = ""


@dataclass(frozen=True)
class Message:
    """What one notifier call delivers: about one workspace, a subject line and text."""

    workspace: str
    subject: str
    text: str
    events: tuple[Event, ...] = field(default_factory=tuple)


class Notifier:
    """Delivers alert messages. Subclass it, implement :meth:`send`, and add its dotted
    path to ``QBO_SYNC["ALERTS"]["NOTIFIERS"]``. It is built with no arguments for each
    message and reads its own settings."""

    def send(self, message: Message) -> bool:
        """Deliver ``message``. Return False when there was no one to send it to (not a
        failure); raise :class:`~qbo_sync.exceptions.NotifierError` when it failed, with
        a text that holds no secret."""
        raise NotImplementedError


class EmailNotifier(Notifier):
    """E-mail through Django's mail to the workspace's admins and managers, as the
    ``RECIPIENTS`` hook lists them (``DEFAULT_FROM_EMAIL`` sends it)."""

    def send(self, message: Message) -> bool:
        recipients = load(alert_settings()["RECIPIENTS"], "RECIPIENTS")(message.workspace)
        to = sorted({address for address in recipients if address})
        if not to:
            logger.warning("Alert for workspace %s not e-mailed: the RECIPIENTS hook lists "
                           "no address for it", message.workspace)
            return False
        try:
            EmailMessage(message.subject, message.text, to=to).send()
        except Exception as exc:  # any mail backend's error: the other notifiers still run
            raise NotifierError(f"e-mail not sent ({type(exc).__name__})") from None
        return True


class WebhookNotifier(Notifier):
    """A Slack-compatible incoming webhook: POST ``{"text": …}`` to ``SECRET_WEBHOOK_URL``.
    The URL is a secret (it alone authorises posting): it is held as a
    :class:`~qbo_sync.secrets.Secret`, and logs and errors name only its host. (Its
    settings key holds SECRET, so Django's error pages mask it too.)"""

    def send(self, message: Message) -> bool:
        url = Secret.of(alert_settings()["SECRET_WEBHOOK_URL"])
        if not url:
            return False
        host = urlsplit(url.reveal()).hostname or "?"
        try:
            response = requests.post(url.reveal(),
                                     timeout=alert_settings()["WEBHOOK_TIMEOUT"],
                                     json={"text": f"*{message.subject}*\n{message.text}"})
        except requests.RequestException as exc:
            # The exception's text holds the URL: only its type is kept.
            raise NotifierError(f"webhook to {host} failed ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise NotifierError(f"webhook to {host} answered HTTP {response.status_code}")
        return True


def deliver(message: Message) -> dict[str, str]:
    """Hand ``message`` to every configured notifier; returns each one's outcome
    (``sent``, ``skipped`` when it had no one to send to, or ``failed``). A failure is
    logged, never raised."""
    outcome: dict[str, str] = {}
    for path in alert_settings()["NOTIFIERS"]:
        name = path if isinstance(path, str) else getattr(path, "__name__", repr(path))
        try:
            outcome[name] = "sent" if load(path, "notifier")().send(message) else "skipped"
        except NotifierError as exc:
            outcome[name] = "failed"
            logger.warning("Alert notifier %s failed for workspace %s: %s", name,
                           message.workspace, exc.message)
        except Exception as exc:  # a host's notifier: its text may hold a secret
            outcome[name] = "failed"
            logger.warning("Alert notifier %s failed for workspace %s (%s)", name,
                           message.workspace, type(exc).__name__)
    return outcome
