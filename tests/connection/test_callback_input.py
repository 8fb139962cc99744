"""The OAuth callback view with a state no database can compare: a 400 page that says
what to do, and no query carrying the NUL (PostgreSQL refuses it with an error)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db import connection

from qbo_sync.models import Connection

from .support import CALLBACK, start


def test_a_state_with_nul_is_a_400_that_never_reaches_the_database(browser: Any,
                                                                    sim: Any) -> None:
    start(browser)  # a real connect request is waiting; the forged state is not its
    params = {"code": "abc", "state": "forged\x00state", "realmId": "9130350000000000"}
    sent: list[Any] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.extend(params or ())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        resp = browser.get(f"{CALLBACK}?{urlencode(params)}")
    assert resp.status_code == 400
    page = resp.content.decode()
    assert "NUL character" in page and "Connect" in page
    # PostgreSQL raises on such a parameter; SQLite would quietly compare it.
    assert not [p for p in sent if isinstance(p, str) and "\x00" in p]
    assert not Connection.objects.exists()
