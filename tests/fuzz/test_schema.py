"""schemathesis over the API's own OpenAPI schema (issue 13): every operation, with
generated paths, queries and bodies, answered by the real WSGI app in-process as a
workspace admin with a session and its CSRF token.

Two kinds of failure count: a 5xx, and a response that does not conform to the schema
(an undocumented status code, a body that does not match its documented shape, a wrong
content type). ``max_examples`` per operation is kept small and the run derandomized so
the file finishes in about a minute and fails the same way twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from schemathesis import openapi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ..support import people, workspaces

pytestmark = [pytest.mark.fuzz]
CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance,
          content_type_conformance, response_schema_conformance]
CSRF = "fuzzcsrfsecret0123456789abcdefgh"  # 32 characters: a CSRF secret Django accepts


# Loaded at collection: the schema view needs no database. Every call goes to the same
# WSGI application, in this process, so the test's database is the one answering.
APP = get_wsgi_application()
schema = openapi.from_wsgi("/api/schema/", APP)


@pytest.fixture
def admin_session(db: Any, qbo_connection: Any) -> Iterator[dict[str, dict[str, str]]]:
    """The cookies and header of a logged-in workspace admin, CSRF token included."""
    client = Client()
    client.force_login(people(*workspaces())["admin"])
    session = {"cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": CSRF},
               "headers": {"X-CSRFToken": CSRF}}
    # After the login (Django's test client reconnects it), and as that client does: the
    # WSGI handler must not close the test's database connection around each request.
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield session
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


@schema.parametrize()
@hsettings(max_examples=25, deadline=None, derandomize=True, database=None,
           suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_and_never_fails(
        case: Any, admin_session: dict[str, dict[str, str]]) -> None:
    case.call_and_validate(checks=CHECKS, **admin_session)
