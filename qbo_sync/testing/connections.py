"""The one way tests (ours and a host's) get a connected ``Connection``: tokens issued
by a running simulator, stored as the OAuth callback would store them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from ..models import KEY_CANARY, Connection
from .simulator import Simulator
from .simulator.companies import US_REALM


def connect_to_simulator(sim: Simulator, realm: str = US_REALM, *,
                         workspace: str = "default", connected_at: datetime | None = None,
                         **fields: Any) -> Connection:
    """A connected ``Connection`` for ``workspace`` ↔ ``realm`` of ``sim``, with fresh
    tokens from the simulator's identity service. ``fields`` set any other column
    (default item, deposit account, …)."""
    tokens = sim.identity.issue_tokens(realm, include_hard_expiry=True)
    company = next(r for r in sim.store.realms() if r["realm_id"] == realm)
    now = timezone.now()

    def after(key: str) -> datetime | None:
        return now + timedelta(seconds=int(tokens[key])) if key in tokens else None

    values: dict[str, Any] = {
        "realm_id": realm, "company_name": company["name"], "environment": "simulator",
        "status": Connection.Status.CONNECTED, "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"], "key_canary": KEY_CANARY,
        "access_token_expires_at": after("expires_in"),
        "refresh_token_expires_at": after("x_refresh_token_expires_in"),
        "refresh_token_hard_expires_at": after("x_refresh_token_hard_expires_in"),
        "token_refreshed_at": now, "refresh_chain_started_at": now,
        "connected_at": connected_at or now,
    }
    return Connection.objects.create(workspace=workspace, **{**values, **fields})
