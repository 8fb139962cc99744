"""Fixtures for the QBO client tests."""

import pytest


@pytest.fixture
def refreshes(monkeypatch):
    """Records each ``oauth.refresh_tokens`` call (the stale token it was given)."""
    from qbo_sync.connection import oauth

    calls: list[str] = []
    original = oauth.refresh_tokens

    def spy(connection, *, stale_access_token=None):
        calls.append(stale_access_token)
        return original(connection, stale_access_token=stale_access_token)

    monkeypatch.setattr(oauth, "refresh_tokens", spy)
    return calls
