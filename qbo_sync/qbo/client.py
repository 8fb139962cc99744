"""``QBOClient``: HTTP access to one QBO company (docs/qbo-rules.md §2, §3, §4, §6, §8).

One client serves one QBO company (realm). It knows nothing of the database: it is
given the realm id and a :class:`TokenSource` (``qbo_sync.connection.clients.client_for``
builds both from a stored connection). It adds the base URL,
``minorversion``, ``requestid``, headers and timeouts, refreshes the access token once
on a 401, and turns every error into a typed exception from ``exceptions.py``. It does
not retry anything else: the engine owns retries and backoff.

Secrets: the access token travels as a :class:`~qbo_sync.secrets.Secret` and is
revealed only by :class:`BearerAuth` while ``requests`` prepares the request; the
library frames below :func:`_transmit` (which hold the header in plain text) are masked
in Django's error reports (docs/architecture.md, invariant 5).

Money: request bodies may hold ``Decimal`` (written as exact JSON numbers) and response
numbers with a fraction come back as ``Decimal``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote as url_quote

import requests
from django.views.decorators.debug import sensitive_variables

from .. import __version__
from ..conf import app_settings, effective_minor_version
from ..exceptions import (
    AuthenticationFailed,
    NetworkError,
    ReconnectRequired,
    ServerError,
    Throttled,
)
from ..logs import current_correlation_id
from ..secrets import Secret
from . import throttle
from .company import CompanyMixin
from .faults import ci_get, exception_from_fault, exception_from_response
from .wire import (
    MAX_REQUEST_ID,
    dumps,
    entity_name,
    entity_path,
    validate_request_id,
)

logger = logging.getLogger("qbo_sync.client")

USER_AGENT = f"qbo-sync/{__version__} (+python-requests)"
MAX_BATCH_REQUEST_ID = 36  # §2.4: the batch requestid is shorter
MAX_BATCH_ID = 10  # §2.4: each item's bId
MAX_BATCH_ITEMS = 30  # §3
MAX_PAGE_SIZE = 1000  # §3, §8

_shared: requests.Session | None = None
_shared_lock = threading.Lock()


def shared_session() -> requests.Session:
    """One process-wide session, for callers that want to pool connections across
    clients: ``client_for(conn, session=shared_session())``."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = requests.Session()
        return _shared


class TokenSource(Protocol):
    """Where a client gets its bearer token, and a fresh one after a 401. Tokens are
    :class:`~qbo_sync.secrets.Secret` (a plain ``str`` is accepted and wrapped)."""

    def access_token(self) -> Secret | str:
        """A token that is valid now (refreshed first if it is about to expire)."""

    def refresh(self, stale: Secret) -> Secret | str:
        """A new token after QBO refused ``stale``; raises ``ReconnectRequired`` when the
        grant is gone."""


class BearerAuth:
    """``Authorization: Bearer <access token>`` (docs/qbo-rules.md §2.2), added when
    ``requests`` prepares the request: no frame above that point holds the token in
    plain text, and this object shows it masked."""

    def __init__(self, token: Secret) -> None:
        self.token = Secret.of(token)

    @sensitive_variables()
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token.reveal()}"
        return request

    def __repr__(self) -> str:
        return f"<BearerAuth {self.token!r}>"


@sensitive_variables()
def _transmit(session: requests.Session, method: str, url: str,
              **kwargs: Any) -> requests.Response:
    """``session.request``. Every frame below this one (requests, urllib3, http.client)
    holds the Authorization header in plain text; ``sensitive_variables()`` masks all
    their variables in Django's error reports, chained exceptions included."""
    return session.request(method, url, **kwargs)


class QBOClient(CompanyMixin):
    """Calls to one QBO company. Raises ``QBOSyncError`` subclasses on every failure."""

    def __init__(
        self,
        realm_id: str,
        tokens: TokenSource,
        *,
        minor_version: int | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.realm_id = realm_id
        self.tokens = tokens
        self.minor_version = effective_minor_version(minor_version)
        self._own_session = session is None
        self.session = session or requests.Session()
        #: Requests sent to QuickBooks by this client (each resend counts).
        self.calls = 0

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> QBOClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Entity operations (§2.1) ------------------------------------------------------

    def create(self, entity: str, payload: dict, *, request_id: str | None = None) -> dict:
        """``POST /{entity}``; returns the created object (with ``Id``, ``SyncToken``)."""
        data = self._call("POST", entity_path(entity), body=payload, request_id=request_id)
        return _entity(data, entity)

    def read(self, entity: str, id: str) -> dict:
        """``GET /{entity}/{id}``."""
        path = f"{entity_path(entity)}/{url_quote(str(id), safe='')}"
        return _entity(self._call("GET", path), entity)

    def update(
        self, entity: str, payload: dict, *, sparse: bool = True, request_id: str | None = None
    ) -> dict:
        """Sparse (default) or full update; ``payload`` must hold ``Id`` and ``SyncToken``.

        A full update clears every writable field left out (§5), so use it only with a
        complete object. A stale ``SyncToken`` raises ``StaleObjectError`` (5010).
        """
        _require_id(payload)
        body = {**payload, "sparse": sparse}
        data = self._call("POST", entity_path(entity), body=body, request_id=request_id)
        return _entity(data, entity)

    def delete(
        self, entity: str, id: str, sync_token: str, *, request_id: str | None = None
    ) -> dict:
        """``POST /{entity}?operation=delete`` (transactions only; name lists go inactive)."""
        data = self._call(
            "POST", entity_path(entity), params={"operation": "delete"},
            body={"Id": str(id), "SyncToken": str(sync_token)}, request_id=request_id,
        )
        return _entity(data, entity)

    def void_invoice(self, id: str, sync_token: str, *, request_id: str | None = None) -> dict:
        """``POST /invoice?operation=void`` (§2.1)."""
        data = self._call(
            "POST", "invoice", params={"operation": "void"},
            body={"Id": str(id), "SyncToken": str(sync_token)}, request_id=request_id,
        )
        return _entity(data, "Invoice")

    def void_payment(self, id: str, sync_token: str, *, request_id: str | None = None) -> dict:
        """``POST /payment?operation=update&include=void`` with a sparse body (§5.3)."""
        data = self._call(
            "POST", "payment", params={"operation": "update", "include": "void"},
            body={"Id": str(id), "SyncToken": str(sync_token), "sparse": True},
            request_id=request_id,
        )
        return _entity(data, "Payment")

    # Queries (§8) ---------------------------------------------------------------------

    def query(self, statement: str) -> list[dict]:
        """One page of results for a full statement (build literals with :func:`quote`)."""
        response = self._query_response(statement)
        return next((v for v in response.values() if isinstance(v, list)), [])

    def query_all(
        self, entity: str, where: str = "", order_by: str = "Id", page_size: int = MAX_PAGE_SIZE
    ) -> list[dict]:
        """Every match, paging with 1-based STARTPOSITION until a short page (§8)."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
        base = f"SELECT * FROM {entity_name(entity)}{_where(where)}"
        if order_by:
            base += f" ORDERBY {order_by}"
        rows: list[dict] = []
        start = 1
        while True:
            page = self.query(f"{base} STARTPOSITION {start} MAXRESULTS {page_size}")
            rows.extend(page)
            if len(page) < page_size:
                return rows
            start += page_size

    def count(self, entity: str, where: str = "") -> int:
        """``SELECT COUNT(*)`` → ``totalCount``."""
        statement = f"SELECT COUNT(*) FROM {entity_name(entity)}{_where(where)}"
        response = self._query_response(statement)
        return int(ci_get(response, "totalCount", default=0) or 0)

    def _query_response(self, statement: str) -> dict:
        # POST with a text body: no URL-length limit, no double encoding (§2.1, §2.2).
        data = self._call("POST", "query", text=statement)
        return ci_get(data, "QueryResponse", default={}) or {}

    # Batch and CDC ---------------------------------------------------------------------

    def batch(self, items: list[dict], *, request_id: str | None = None) -> list[dict]:
        """Run ``BatchItemRequest`` items, 30 per call (§3); results come back in order.

        Each result is the ``BatchItemResponse`` item plus ``"error"``: ``None``, or the
        exception its ``Fault`` maps to (not raised, so one bad item spoils nothing).
        Items without a ``bId`` get their position ("1", "2", …).
        """
        prepared = []
        for index, item in enumerate(items, start=1):
            item = {**item, "bId": str(item.get("bId") or index)}
            if len(item["bId"]) > MAX_BATCH_ID:
                raise ValueError(f"bId {item['bId']!r} is longer than {MAX_BATCH_ID} characters.")
            prepared.append(item)
        if len({i["bId"] for i in prepared}) != len(prepared):
            raise ValueError("Batch item bIds must be unique.")
        chunks = [prepared[i:i + MAX_BATCH_ITEMS] for i in range(0, len(prepared), MAX_BATCH_ITEMS)]
        results: list[dict] = []
        for number, chunk in enumerate(chunks, start=1):
            rid = None
            if request_id is not None:  # each call needs its own requestid (§2.4)
                rid = request_id if len(chunks) == 1 else f"{request_id}-{number}"
            data, tid = self._request("POST", "batch", body={"BatchItemRequest": chunk},
                                      request_id=rid, request_id_limit=MAX_BATCH_REQUEST_ID)
            answers = {str(ci_get(a, "bId")): a for a in ci_get(data, "BatchItemResponse") or []}
            for item in chunk:
                results.append(_batch_result(item["bId"], answers.get(item["bId"]), tid))
        return results

    def cdc(self, entities: list[str], changed_since: datetime) -> dict[str, list[dict]]:
        """Objects of ``entities`` changed since ``changed_since`` (at most 30 days back;
        at most 1000 objects per answer, §6). Deleted ones carry ``"status": "Deleted"``."""
        if changed_since.tzinfo is None:
            raise ValueError("changed_since must be timezone-aware.")
        names = [entity_name(e) for e in entities]
        params = {"entities": ",".join(names), "changedSince": changed_since.isoformat()}
        data, tid = self._request("GET", "cdc", params=params)
        changes: dict[str, list[dict]] = {name: [] for name in names}
        for block in ci_get(data, "CDCResponse") or []:
            fault = ci_get(block, "Fault")
            if fault is not None:
                raise exception_from_fault(fault, status_code=200, intuit_tid=tid)
            for group in ci_get(block, "QueryResponse") or []:
                for key, value in (group or {}).items():
                    if isinstance(value, list):
                        changes.setdefault(entity_name(key), []).extend(value)
        return changes

    # HTTP -----------------------------------------------------------------------------------

    def _realm(self) -> str:
        if not self.realm_id:
            raise ReconnectRequired(
                "This workspace has no QuickBooks company connected.",
                fix="Connect QuickBooks: Settings → QuickBooks → Connect.",
            )
        return self.realm_id

    def _call(self, method: str, path: str, **kwargs: Any) -> dict:
        return self._request(method, path, **kwargs)[0]

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        text: str | None = None,
        request_id: str | None = None,
        request_id_limit: int = MAX_REQUEST_ID,
    ) -> tuple[dict, str]:
        """Send with the current token; on a 401 refresh once and resend once."""
        # The realm goes into the path percent-encoded: it is ours, but stored data.
        realm = url_quote(self._realm(), safe="")
        url = f"{app_settings.endpoints()['api_base']}/v3/company/{realm}/{path}"
        query = {"minorversion": str(self.minor_version), **(params or {})}
        if request_id is not None:
            query["requestid"] = validate_request_id(request_id, request_id_limit)
        if body is not None:
            content_type, data = "application/json", dumps(body).encode("utf-8")
        elif text is not None:
            content_type, data = "application/text", text.encode("utf-8")
        else:
            content_type, data = None, None

        # A POST query is a read; every other POST (batch included) may write.
        write = method != "GET" and path != "query"
        token = Secret.of(self.tokens.access_token())
        response = self._send(method, url, query, content_type, data, token, write)
        if response.status_code == 401 and isinstance(
            exception_from_response(response), AuthenticationFailed
        ):
            # Single-flight refresh across processes is the token source's job.
            fresh = Secret.of(self.tokens.refresh(token))
            response = self._send(method, url, query, content_type, data, fresh, write)
        tid = response.headers.get("intuit_tid", "")
        if response.status_code >= 400:
            error = exception_from_response(response)
            if isinstance(error, Throttled):
                throttle.record_throttled(self.realm_id)
            raise error
        try:
            parsed = json.loads(response.content or b"{}", parse_float=Decimal)
        except ValueError:
            # A 2xx that is not JSON: a proxy page, or XML (§2.2). The write may be done.
            raise ServerError(
                "QuickBooks sent a response that is not JSON; the request may or may not "
                "have been applied.", detail=response.text[:200], status_code=response.status_code,
                intuit_tid=tid,
            ) from None
        fault = ci_get(parsed, "Fault")
        if fault is not None:  # rare, but a 200 can carry a Fault (§4.1)
            raise exception_from_fault(fault, status_code=response.status_code, intuit_tid=tid)
        if not isinstance(parsed, dict):
            raise ServerError("QuickBooks sent an unexpected response.", status_code=200,
                              intuit_tid=tid)
        return parsed, tid

    @sensitive_variables("token")
    def _send(
        self,
        method: str,
        url: str,
        query: dict[str, str],
        content_type: str | None,
        data: bytes | None,
        token: Secret,
        write: bool,
    ) -> requests.Response:
        headers = {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if content_type:
            headers["Content-Type"] = content_type
        path = url.split("/v3/company/", 1)[-1]
        started = time.monotonic()
        self.calls += 1
        try:
            # ``path`` is "{realm}/batch": the realm comes first.
            with throttle.budget(self.realm_id, batch=path.split("/", 1)[-1] == "batch"):
                response = _transmit(
                    self.session, method, url, params=query, data=data, headers=headers,
                    auth=BearerAuth(token), timeout=tuple(app_settings.TIMEOUT),
                )
        except requests.RequestException as exc:
            elapsed = (time.monotonic() - started) * 1000
            logger.debug("QBO %s %s failed: %s (%.0f ms)", method, path, type(exc).__name__,
                         elapsed, extra={"correlation_id": current_correlation_id()})
            raise _network_error(exc, write=write) from exc
        elapsed = (time.monotonic() - started) * 1000
        tid = response.headers.get("intuit_tid", "")
        # The running job's correlation id (a contextvar: this layer knows no job).
        logger.debug("QBO %s %s -> %s intuit_tid=%s (%.0f ms)", method, path,
                     response.status_code, tid, elapsed,
                     extra={"intuit_tid": tid, "correlation_id": current_correlation_id()})
        return response


def _network_error(exc: requests.RequestException, *, write: bool) -> NetworkError:
    what = "did not answer in time" if isinstance(exc, requests.Timeout) else "could not be reached"
    outcome = (
        "the write may or may not have been applied; look it up before sending it again."
        if write else "nothing was changed."
    )
    return NetworkError(f"QuickBooks {what} ({type(exc).__name__}): {outcome}")


def _where(where: str) -> str:
    where = where.strip()
    if where[:6].upper() == "WHERE ":
        where = where[6:].strip()
    return f" WHERE {where}" if where else ""


def _require_id(payload: dict) -> None:
    if not payload.get("Id") or payload.get("SyncToken") in (None, ""):
        raise ValueError("An update needs the record's Id and current SyncToken.")


def _entity(data: dict, entity: str) -> dict:
    """The entity object from ``{"Invoice": {...}, "time": ...}``."""
    found = ci_get(data, entity_name(entity))
    if not isinstance(found, dict):
        raise ServerError(f"QuickBooks answered without the {entity_name(entity)} object.",
                          status_code=200)
    return found


def _batch_result(bid: str, answer: dict | None, tid: str) -> dict:
    if answer is None:
        error = ServerError(f"QuickBooks returned no result for batch item {bid}.",
                            status_code=200, intuit_tid=tid)
        return {"bId": bid, "error": error}
    fault = ci_get(answer, "Fault")
    error = exception_from_fault(fault, status_code=200, intuit_tid=tid) if fault else None
    return {**answer, "error": error}
