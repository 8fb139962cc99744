"""A :class:`~qbo_sync.qbo.client.QBOClient` for a stored connection: the client knows
only a realm and a token source; this module supplies both from the database. Tokens
leave here as :class:`~qbo_sync.secrets.Secret` (docs/architecture.md, invariant 5)."""

from __future__ import annotations

from typing import Any

import requests

from ..exceptions import BudgetSpent
from ..models import ApiCallCount, Connection
from ..qbo.client import QBOClient
from ..secrets import Secret
from . import oauth, usage


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


class CountingClient(QBOClient):
    """A client that records every call it sends in :class:`ApiCallCount` (the metrics'
    calls per minute and metered reads), by kind and by what it was made for."""

    def __init__(self, connection: Connection, *, source: str,
                 session: requests.Session | None = None) -> None:
        super().__init__(connection.realm_id, ConnectionTokens(connection),
                         minor_version=connection.minor_version, session=session)
        self.connection_id = connection.pk
        self.source = source

    def _request(self, method: str, path: str, **kwargs: Any) -> tuple[dict, str]:
        before = self.calls
        held_back = False
        try:
            return super()._request(method, path, **kwargs)
        except BudgetSpent:
            # Our own budget refused the call before it was sent: counted by the client,
            # never seen by QuickBooks.
            held_back = True
            raise
        finally:
            sent = self.calls - before - (1 if held_back else 0)
            if sent > 0 and self.connection_id is not None:
                usage.record_calls(self.connection_id, usage.call_kind(method, path),
                                   self.source, sent)


def client_for(connection: Connection, *, session: requests.Session | None = None,
               source: str = ApiCallCount.Source.OTHER) -> QBOClient:
    """The client for ``connection``'s company (use it as a context manager, or pass a
    shared ``session`` to pool connections across clients). ``source`` says what the
    calls are for in the call counts (:class:`~qbo_sync.models.ApiCallCount.Source`)."""
    return CountingClient(connection, source=source, session=session)
