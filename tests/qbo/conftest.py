"""Fixtures for the QBO client tests."""

import pytest


@pytest.fixture
def refreshes(monkeypatch):
    """Records each ``oauth.refresh_tokens`` call (the stale token it was given, revealed:
    the client passes it as a ``Secret``)."""
    from qbo_sync.connection import oauth
    from qbo_sync.secrets import Secret

    calls: list[str] = []
    original = oauth.refresh_tokens

    def spy(connection, *, stale_access_token=None):
        assert isinstance(stale_access_token, Secret)
        calls.append(stale_access_token.reveal())
        return original(connection, stale_access_token=stale_access_token)

    monkeypatch.setattr(oauth, "refresh_tokens", spy)
    return calls
