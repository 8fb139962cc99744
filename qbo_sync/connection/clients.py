"""A :class:`~qbo_sync.qbo.client.QBOClient` for a stored connection: the client knows
only a realm and a token source; this module supplies both from the database. Tokens
leave here as :class:`~qbo_sync.secrets.Secret` (docs/architecture.md, invariant 5)."""

from __future__ import annotations

import requests

from ..models import Connection
from ..qbo.client import QBOClient
from ..secrets import Secret
from . import oauth


class ConnectionTokens:
    """The connection's access token, refreshed once across all processes
    (:func:`~qbo_sync.connection.oauth.refresh_tokens`)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def access_token(self) -> Secret:
        return Secret.of(oauth.get_access_token(self.connection))

    def refresh(self, stale: Secret) -> Secret:
        oauth.refresh_tokens(self.connection, stale_access_token=stale)
        return Secret.of(oauth.get_access_token(self.connection))


def client_for(connection: Connection, *,
               session: requests.Session | None = None) -> QBOClient:
    """The client for ``connection``'s company (use it as a context manager, or pass a
    shared ``session`` to pool connections across clients)."""
    return QBOClient(connection.realm_id, ConnectionTokens(connection),
                     minor_version=connection.minor_version, session=session)
