"""The simulator's OAuth bookkeeping: authorization codes, grants, rotating refresh
tokens and access tokens, following Intuit's rules (docs/qbo-rules.md §1.3-§1.6).

A *grant* is one consent: a client connected to one realm. Every token belongs to a
grant; revoking any token revokes the grant and with it every token (§1.6).
Not thread-safe by itself: :class:`~.identity.Identity` calls it under the store lock.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from .wire import Clock

#: The refresh-token chain's absolute cap: 5 years from the first grant (§1.5 [2025]).
HARD_TTL = 5 * 365 * 86400

# Prefix of Intuit's JWE access tokens ({"enc":"A128CBC-HS256","alg":"dir"}), so the
# simulator's tokens look and weigh like real ones (about 1 KB, §1.4).
_JWE_HEADER = "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0"


class OAuthFailure(Exception):
    """An OAuth error the token endpoint answers with (§1.7)."""

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status


def _access_token() -> str:
    parts = (secrets.token_urlsafe(16), secrets.token_urlsafe(720), secrets.token_urlsafe(16))
    return f"{_JWE_HEADER}..{'.'.join(parts)}"


def _refresh_token() -> str:
    return "AB11" + secrets.token_urlsafe(36)


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class GrantBook:
    """Codes, grants and tokens, with lifetimes measured on the simulator clock."""

    _DATES = ("expires_at", "created_at", "hard_expires_at", "superseded_at")
    _TABLES = ("codes", "grants", "refresh", "access")

    def __init__(
        self, clock: Clock, *, access_ttl: int, refresh_ttl: int, refresh_grace: int,
        code_ttl: int, hard_ttl: int = HARD_TTL,
    ) -> None:
        self.clock = clock
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.refresh_grace = refresh_grace
        self.code_ttl = code_ttl
        self.hard_ttl = hard_ttl
        self.codes: dict[str, dict[str, Any]] = {}
        self.grants: dict[str, dict[str, Any]] = {}
        self.refresh: dict[str, dict[str, Any]] = {}
        self.access: dict[str, dict[str, Any]] = {}

    # Authorization codes (§1.3) ------------------------------------------------

    def new_code(self, client_id: str, redirect_uri: str, realm_id: str, scope: str) -> str:
        self._prune()
        code = "AB11" + secrets.token_urlsafe(48)
        self.codes[code] = {
            "client_id": client_id, "redirect_uri": redirect_uri, "realm_id": realm_id,
            "scope": scope, "expires_at": self.clock.now() + timedelta(seconds=self.code_ttl),
            "used": False, "grant_id": None,
        }
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str) -> str:
        """Exchange a code for a new grant id. Codes are single-use and short-lived;
        a reused code also revokes what it was exchanged for (§1.3, JSOAUTH #173)."""
        rec = self.codes.get(code)
        if rec is None or rec["client_id"] != client_id:
            raise OAuthFailure("invalid_grant", "Invalid authorization code")
        if rec["used"]:
            if rec["grant_id"]:
                self.revoke_grant(rec["grant_id"])
            raise OAuthFailure("invalid_grant", "Authorization code has already been used")
        if self.clock.now() >= rec["expires_at"]:
            raise OAuthFailure("invalid_grant", "Authorization code has expired")
        if rec["redirect_uri"] != redirect_uri:  # must match exactly (§1.4)
            raise OAuthFailure("invalid_grant", "redirect_uri does not match the authorize request")
        rec["used"] = True
        rec["grant_id"] = self.new_grant(rec["realm_id"], client_id, rec["scope"])
        return rec["grant_id"]

    # Grants and tokens (§1.4-§1.6) ----------------------------------------------

    def new_grant(self, realm_id: str, client_id: str, scope: str) -> str:
        now = self.clock.now()
        gid = secrets.token_hex(8)
        self.grants[gid] = {
            "realm_id": realm_id, "client_id": client_id, "scope": scope, "created_at": now,
            "hard_expires_at": now + timedelta(seconds=self.hard_ttl), "revoked": False,
            "current_refresh": None,
        }
        return gid

    def use_refresh_token(self, token: str, client_id: str) -> str:
        """Validate a refresh token for the refresh grant; return its grant id."""
        rec = self.refresh.get(token)
        grant = self.grants.get(rec["grant_id"]) if rec else None
        if rec is None or grant is None or grant["client_id"] != client_id:
            raise OAuthFailure("invalid_grant", "Incorrect or invalid refresh token")
        now = self.clock.now()
        if grant["revoked"]:
            raise OAuthFailure("invalid_grant", "Token invalid")
        if now >= grant["hard_expires_at"]:
            raise OAuthFailure("invalid_grant", "Refresh token has reached its maximum lifetime")
        if now >= rec["expires_at"]:
            raise OAuthFailure("invalid_grant", "Refresh token has expired")
        superseded = rec["superseded_at"]
        if superseded and now >= superseded + timedelta(seconds=self.refresh_grace):
            # The previous token works for about 24 h after rotation, then fails (§1.5).
            raise OAuthFailure("invalid_grant", "Incorrect or invalid refresh token")
        return rec["grant_id"]

    def issue(self, gid: str, *, include_hard_expiry: bool = False) -> dict[str, Any]:
        """A new access token and a rotated refresh token for the grant, as the token
        endpoint returns them (§1.4). The previous refresh token enters its grace."""
        self._prune()
        grant = self.grants[gid]
        now = self.clock.now()
        previous = self.refresh.get(grant["current_refresh"] or "")
        if previous and previous["superseded_at"] is None:
            previous["superseded_at"] = now
        hard_left = int((grant["hard_expires_at"] - now).total_seconds())
        refresh_left = min(self.refresh_ttl, hard_left)
        access, refresh = _access_token(), _refresh_token()
        self.access[access] = {
            "grant_id": gid, "expires_at": now + timedelta(seconds=self.access_ttl)
        }
        self.refresh[refresh] = {
            "grant_id": gid, "expires_at": now + timedelta(seconds=refresh_left),
            "superseded_at": None,
        }
        grant["current_refresh"] = refresh
        body: dict[str, Any] = {
            "token_type": "bearer",
            "access_token": access,
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "x_refresh_token_expires_in": refresh_left,
        }
        if include_hard_expiry:  # only on request, via a header (§1.4 [2025])
            body["x_refresh_token_hard_expires_in"] = hard_left
        return body

    def grant_for_token(self, token: str) -> str | None:
        rec = self.refresh.get(token) or self.access.get(token)
        return rec["grant_id"] if rec else None

    def revoke_grant(self, gid: str) -> None:
        if gid in self.grants:
            self.grants[gid]["revoked"] = True

    def check_access(self, token: str, realm_id: str) -> str:
        """Why the access token cannot be used for the realm; "" when it can."""
        rec = self.access.get(token)
        grant = self.grants.get(rec["grant_id"]) if rec else None
        if rec is None or grant is None:
            return "Token invalid"
        if grant["revoked"]:
            return "Token revoked"
        if self.clock.now() >= rec["expires_at"]:
            return "Token expired"
        if grant["realm_id"] != realm_id:
            return "Token was not issued for this company"
        return ""

    def realm_grants(self, realm_id: str) -> list[str]:
        return [gid for gid, g in self.grants.items() if g["realm_id"] == realm_id]

    def expire_access(self, realm_id: str) -> None:
        past = self.clock.now() - timedelta(seconds=1)
        gids = set(self.realm_grants(realm_id))
        for rec in self.access.values():
            if rec["grant_id"] in gids:
                rec["expires_at"] = min(rec["expires_at"], past)

    # Housekeeping and persistence ---------------------------------------------------

    def _prune(self) -> None:
        """Forget what can never succeed again, so saved state stays small. A forgotten
        token fails the same way a dead one does."""
        now = self.clock.now()
        day = timedelta(days=1)
        grace = timedelta(seconds=self.refresh_grace)
        self.codes = {k: v for k, v in self.codes.items() if v["expires_at"] + day > now}
        self.access = {k: v for k, v in self.access.items() if v["expires_at"] + day > now}

        def alive(rec: dict[str, Any]) -> bool:
            gone = rec["superseded_at"] and rec["superseded_at"] + grace + day < now
            return rec["expires_at"] > now and not gone

        self.refresh = {k: v for k, v in self.refresh.items() if alive(v)}

    def to_dict(self) -> dict[str, Any]:
        def dump(table: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
            return {
                key: {k: (_ts(v) if k in self._DATES else v) for k, v in rec.items()}
                for key, rec in table.items()
            }

        return {name: dump(getattr(self, name)) for name in self._TABLES}

    def load(self, data: dict[str, Any]) -> None:
        for name in self._TABLES:
            setattr(self, name, {
                key: {k: (_dt(v) if k in self._DATES else v) for k, v in rec.items()}
                for key, rec in (data.get(name) or {}).items()
            })
