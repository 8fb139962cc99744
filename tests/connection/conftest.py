"""Fixtures for the connection tests (OAuth, its views, settings, lists)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

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


@pytest.fixture
def staff(db: Any) -> Any:
    return get_user_model().objects.create_user("ada", password="pw", is_staff=True)


@pytest.fixture
def browser(client: Any, staff: Any) -> Any:
    """Django's test client, signed in as a staff user."""
    client.force_login(staff)
    return client
