"""Helpers for the connection tests: the OAuth views' paths, a browser's connect, and
what Django's error reports show (the technical 500 page and the admins' error mail),
with the secrets that must never be in them (docs/architecture.md, invariant 5)."""

from __future__ import annotations

import base64
import html
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from django.core import mail
from django.core.signals import got_request_exception
from django.utils.log import AdminEmailHandler
from django.views.debug import ExceptionReporter, technical_500_response

from qbo_sync.secrets import MASK

CONNECT, CALLBACK, DISCONNECT = "/qbo/connect/", "/qbo/callback/", "/qbo/disconnect/"
CLIENT_ID, CLIENT_SECRET = "simulator-client-id", "simulator-client-secret"
VERIFIER = "simulator-verifier-token"
#: What SafeExceptionReporterFilter puts in place of a sensitive variable.
CLEANSED = "********************"


def start(browser: Any) -> str:
    """GET connect; returns Intuit's (the simulator's) authorize URL."""
    resp = browser.get(CONNECT)
    assert resp.status_code == 302
    return resp["Location"]


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == CALLBACK
    return f"{parts.path}?{parts.query}"


# Error reports ----------------------------------------------------------------------


def reports_for(exc_info: Any, request: Any = None) -> dict[str, str]:
    """Everything Django renders for an exception: the technical 500 page (for a
    request), the traceback as HTML and text, and the mail ``AdminEmailHandler`` sends
    (text and HTML). Needs ``settings.ADMINS``."""
    reporter = ExceptionReporter(request, *exc_info)
    out = {"traceback html": reporter.get_traceback_html(),
           "traceback text": reporter.get_traceback_text()}
    if request is not None:
        out["technical 500 page"] = technical_500_response(request, *exc_info).content.decode()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 0,
                               "Internal Server Error: %s", (getattr(request, "path", "-"),),
                               exc_info)
    record.request = request
    before = len(mail.outbox)
    AdminEmailHandler(include_html=True).emit(record)
    assert len(mail.outbox) == before + 1, "set settings.ADMINS so the error mail is sent"
    message = mail.outbox[-1]
    out["admin mail text"] = f"{message.subject}\n{message.body}"
    out["admin mail html"] = message.alternatives[0][0]
    return out


@contextmanager
def view_failures() -> Iterator[list[dict[str, str]]]:
    """The reports of each unhandled exception a view raises in the block, built while
    its frames are alive, as Django's own 500 handling builds them."""
    captured: list[dict[str, str]] = []

    def on_exception(sender: Any, request: Any, **kwargs: Any) -> None:
        captured.append(reports_for(sys.exc_info(), request))

    got_request_exception.connect(on_exception, dispatch_uid="tests.view_failures")
    try:
        yield captured
    finally:
        got_request_exception.disconnect(dispatch_uid="tests.view_failures")


def failure_reports(call: Callable[[], Any]) -> dict[str, str]:
    """The reports of the exception ``call()`` raises (outside a request)."""
    try:
        call()
    except Exception:  # noqa: BLE001 - any failure is what is being reported
        return reports_for(sys.exc_info())
    raise AssertionError("the call was expected to fail")


def simulator_secrets(sim: Any) -> list[str]:
    """Every token the simulator ever issued, the app's client secret (also as the
    Basic credentials it travels in) and the webhook verifier."""
    book = sim.identity.book
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return [*book.access, *book.refresh, CLIENT_SECRET, basic, VERIFIER]


def _pieces(secret: str) -> set[str]:
    """Distinctive parts of a secret: Django trims long values, so a whole 1 KB token
    may not appear even where most of it does."""
    if len(secret) <= 48:
        return {secret}
    body = secret.split("..", 1)[-1]  # skip the access tokens' shared JWE header
    return {body[:32], secret[len(secret) // 2:len(secret) // 2 + 32], secret[-32:]}


def assert_no_secrets(reports: dict[str, str], secrets: Iterable[str], *,
                      shows: str) -> None:
    """No secret in any report; each report is about the failure (it shows ``shows``)."""
    secrets = [s for s in secrets if s]
    assert secrets
    for where, text in reports.items():
        assert shows in text, f"the {where} is not about this failure"
        for secret in secrets:
            for piece in _pieces(secret):
                assert piece not in text, f"the {where} shows a secret ({secret[:8]}…)"


def shown_values(reports: dict[str, str], variable: str) -> list[str]:
    """What the traceback HTML shows for ``variable`` in each frame that has it."""
    rows = re.findall(rf'<td>{re.escape(variable)}</td>\s*<td class="code"><pre>(.*?)</pre>',
                      reports["traceback html"], re.S)
    return [html.unescape(value) for value in rows]


def assert_masked(reports: dict[str, str], variable: str, *, debug: bool) -> None:
    """``variable`` is shown, and masked: cleansed by ``sensitive_variables`` in
    production (in at least one frame; frames of the tests themselves show the masked
    Secret), a masked Secret everywhere with ``DEBUG = True``. So the absence of
    secrets is not merely the absence of the frame."""
    values = [v.strip("'") for v in shown_values(reports, variable)]
    assert values, f"no frame shows {variable!r}"
    for value in values:
        assert MASK in value or (not debug and value == CLEANSED), (variable, value[:80])
    if not debug:
        assert CLEANSED in values, (variable, values)
