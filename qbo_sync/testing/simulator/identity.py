"""The simulator's Intuit identity service: the consent page, the token endpoint with
rotating refresh tokens, revocation, and bearer-token checks for API calls
(docs/qbo-rules.md §1). The bookkeeping lives in :mod:`.grants`, the HTML in :mod:`.consent`.
"""

from __future__ import annotations

import base64
import binascii
import threading
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .consent import AUTHORIZE_FIELDS, render_consent, render_error
from .grants import HARD_TTL, GrantBook, OAuthFailure
from .wire import Clock, SimRequest, SimResponse, new_tid, oauth_error, qbo_time

AUTHORIZE_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"

DEFAULT_CLIENTS = {"simulator-client-id": "simulator-client-secret"}
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
#: Scopes Intuit knows (docs/qbo-rules.md §1.2); anything else is ``invalid_scope``.
KNOWN_SCOPES = frozenset({
    ACCOUNTING_SCOPE, "com.intuit.quickbooks.payment", "openid", "profile", "email",
    "phone", "address", "intuit_name",
})
#: Opt-in header for ``x_refresh_token_hard_expires_in`` (docs/qbo-rules.md §1.4 [2025]).
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"


def _with_query(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` appended to whatever query it already has."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


class Identity:
    """OAuth 2.0 authorization server for the simulator. Thread-safe: every entry
    point runs under the store's lock, the one lock that guards simulator state."""

    def __init__(
        self, clock: Clock, store: Any, *, clients: dict[str, str] | None = None,
        access_ttl: int = 3600, refresh_grace: int = 86400, refresh_ttl: int = 8726400,
        code_ttl: int = 600, hard_ttl: int = HARD_TTL, app_name: str = "Your app",
    ) -> None:
        self.clock = clock
        self.store = store
        self.clients = dict(clients if clients is not None else DEFAULT_CLIENTS)
        self.app_name = app_name
        self.lock = getattr(store, "lock", None) or threading.RLock()
        self.book = GrantBook(
            clock, access_ttl=access_ttl, refresh_ttl=refresh_ttl,
            refresh_grace=refresh_grace, code_ttl=code_ttl, hard_ttl=hard_ttl,
        )

    # Routing ---------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        return path.rstrip("/") in (AUTHORIZE_PATH, TOKEN_PATH, REVOKE_PATH)

    def handle(self, req: SimRequest) -> SimResponse:
        path = req.path.rstrip("/")
        with self.lock:
            if path == AUTHORIZE_PATH and req.method == "GET":
                return self._authorize_page(req)
            if path == AUTHORIZE_PATH and req.method == "POST":
                return self._authorize_submit(req)
            if req.method != "POST":
                return SimResponse(405, b"", {"Allow": "POST"})
            try:
                if path == TOKEN_PATH:
                    return self._token(req)
                if path == REVOKE_PATH:
                    return self._revoke(req)
            except OAuthFailure as exc:
                return oauth_error(exc.error, exc.description, exc.status)
        return SimResponse(404, b"Not Found")

    # Authorization page (docs/qbo-rules.md §1.3) ------------------------------------------

    def _check_authorize(self, params: dict[str, str]) -> SimResponse | None:
        """The response for a bad authorize request, or None when it is good. Problems
        with the client or redirect URI get an error page, never a redirect, so a
        forged request cannot bounce the browser anywhere (RFC 6749 §4.1.2.1)."""
        if params.get("client_id", "") not in self.clients:
            return SimResponse.html(
                render_error("Invalid client", "Unknown client_id: check the app's keys."), 400
            )
        redirect_uri = params.get("redirect_uri", "")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return SimResponse.html(
                render_error("Invalid redirect_uri", "redirect_uri must be an absolute URL."), 400
            )
        if params.get("response_type") != "code":  # only "code" is supported (§1.1)
            return self._back(params, error="unsupported_response_type")
        scopes = params.get("scope", "").split()
        if not scopes or not set(scopes) <= KNOWN_SCOPES or ACCOUNTING_SCOPE not in scopes:
            # A company is chosen only with the accounting scope (§1.2).
            return self._back(params, error="invalid_scope")
        return None

    def _back(self, params: dict[str, str], **result: str) -> SimResponse:
        """Send the browser back to the app's redirect URI with ``result`` + state."""
        if params.get("state"):
            result["state"] = params["state"]
        return SimResponse.redirect(_with_query(params["redirect_uri"], result))

    def _authorize_page(self, req: SimRequest) -> SimResponse:
        return self._check_authorize(req.query) or SimResponse.html(
            render_consent(req.query, self.store.realms(), app_name=self.app_name)
        )

    def _authorize_submit(self, req: SimRequest) -> SimResponse:
        form = req.form()
        params = {k: form.get(k, "") for k in AUTHORIZE_FIELDS}
        problem = self._check_authorize(params)
        if problem is not None:
            return problem
        if form.get("action") == "cancel":
            return self._back(params, error="access_denied")
        realm_id = form.get("realmId", "")
        if not self.store.has_realm(realm_id):
            page = render_consent(
                params, self.store.realms(), app_name=self.app_name,
                error="Choose a company to connect.",
            )
            return SimResponse.html(page, 400)
        code = self.book.new_code(
            params["client_id"], params["redirect_uri"], realm_id, params["scope"]
        )
        return self._back(params, code=code, realmId=realm_id)

    # Token endpoint (docs/qbo-rules.md §1.4, §1.7) ------------------------------------------

    def _client(self, req: SimRequest, form: dict[str, str] | None = None) -> str:
        """The authenticated client id: HTTP Basic, or client_secret_post for the token
        endpoint (both are in Intuit's discovery document, §1.1)."""
        header = req.header("authorization")
        if header.lower().startswith("basic "):
            try:
                raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raw = ""
            client_id, _, secret = raw.partition(":")
        elif form is not None and "client_id" in form:
            client_id, secret = form["client_id"], form.get("client_secret", "")
        else:
            client_id, secret = "", ""
        if not client_id or self.clients.get(client_id) != secret:
            raise OAuthFailure("invalid_client", status=401)
        return client_id

    def _token(self, req: SimRequest) -> SimResponse:
        content_type = req.header("content-type").split(";")[0].strip().lower()
        form = req.form() if content_type == "application/x-www-form-urlencoded" else {}
        client_id = self._client(req, form)
        if not form:
            raise OAuthFailure("invalid_request", "Send a form-encoded body")
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            if not form.get("code") or not form.get("redirect_uri"):
                raise OAuthFailure("invalid_request", "code and redirect_uri are required")
            gid = self.book.redeem_code(form["code"], client_id, form["redirect_uri"])
        elif grant_type == "refresh_token":
            if not form.get("refresh_token"):
                raise OAuthFailure("invalid_request", "refresh_token is required")
            gid = self.book.use_refresh_token(form["refresh_token"], client_id)
        elif not grant_type:
            raise OAuthFailure("invalid_request", "grant_type is required")
        else:
            raise OAuthFailure("unsupported_grant_type")
        hard = req.header(HARD_EXPIRY_HEADER).strip().lower() == "true"
        body = self.book.issue(gid, include_hard_expiry=hard)
        return SimResponse.json(
            body, headers={"intuit_tid": new_tid(), "Cache-Control": "no-store"}
        )

    def _revoke(self, req: SimRequest) -> SimResponse:
        """Revoking any token of a grant revokes the whole grant (§1.6)."""
        client_id = self._client(req)
        try:
            token = (req.json() or {}).get("token", "")
        except (ValueError, AttributeError):
            token = ""
        if not token:
            raise OAuthFailure("invalid_request", 'Send a JSON body {"token": ...}')
        gid = self.book.grant_for_token(token)
        if gid is not None:
            if self.book.grants[gid]["client_id"] != client_id:
                raise OAuthFailure("unauthorized_client", "Token was issued to another client")
            self.book.revoke_grant(gid)
        # An unknown token is not an error (RFC 7009 §2.2): the outcome is the same.
        return SimResponse(200, b"", {"intuit_tid": new_tid()})

    # API authentication (docs/qbo-rules.md §1.7, §4.1, §4.2) ---------------------------------

    def authenticate(self, req: SimRequest, realm_id: str) -> SimResponse | None:
        """None when the bearer token may call the realm's API, else QBO's 401."""
        header = req.header("authorization")
        if header[:7].lower() != "bearer ":
            reason = "Authorization header missing or not Bearer"
        else:
            with self.lock:
                reason = self.book.check_access(header[7:].strip(), realm_id)
        if not reason:
            return None
        # The gateway's 3200 fault, type AUTHENTICATION, with the lower-case keys the
        # gateway uses for 3100/3200 (docs/qbo-rules.md §4.1: "Some gateway errors (3100/3200)
        # come back with lower-case keys"), so clients must parse case-insensitively.
        body = {
            "fault": {
                "error": [{
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": reason, "code": "3200",
                }],
                "type": "AUTHENTICATION",
            },
            "time": qbo_time(self.clock.now()),
        }
        return SimResponse.json(body, status=401, headers={"intuit_tid": new_tid()})

    # Helpers for tests and the control plane ------------------------------------------

    def issue_tokens(
        self, realm_id: str, client_id: str | None = None, *, include_hard_expiry: bool = False
    ) -> dict:
        """A fresh grant for the realm, skipping the consent page; returns the token
        response the token endpoint would send."""
        client = client_id or next(iter(self.clients))
        with self.lock:
            if not self.store.has_realm(realm_id):
                raise KeyError(f"No company with realm id {realm_id}")
            gid = self.book.new_grant(realm_id, client, ACCOUNTING_SCOPE)
            return self.book.issue(gid, include_hard_expiry=include_hard_expiry)

    def expire_access_tokens(self, realm_id: str) -> None:
        """Make every access token for the realm expire now (refresh tokens live on)."""
        with self.lock:
            self.book.expire_access(realm_id)

    def revoke_realm(self, realm_id: str) -> None:
        """As if the user disconnected the app from inside QuickBooks (§1.6)."""
        with self.lock:
            for gid in self.book.realm_grants(realm_id):
                self.book.revoke_grant(gid)

    # Persistence ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            book = self.book
            settings = {
                "access_ttl": book.access_ttl, "refresh_ttl": book.refresh_ttl,
                "refresh_grace": book.refresh_grace, "code_ttl": book.code_ttl,
                "hard_ttl": book.hard_ttl,
            }
            return {"clients": dict(self.clients), "settings": settings, **book.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], clock: Clock, store: Any, **kw: Any) -> Identity:
        """Rebuild from :meth:`to_dict` output; keyword arguments override saved settings."""
        options = {**(data.get("settings") or {}), **kw}
        options.setdefault("clients", data.get("clients"))
        identity = cls(clock, store, **options)
        identity.book.load(data)
        return identity
