"""Connecting a workspace to a QuickBooks company and keeping its tokens fresh.

- :func:`start_connect` / :func:`complete_connect`: the authorize redirect and the
  callback (docs/qbo-rules.md §1.3, §1.4), CSRF-protected by a single-use, expiring
  :class:`~qbo_sync.models.OAuthState` bound to the user who started it.
- :func:`get_access_token` / :func:`refresh_tokens`: single-flight refresh across
  processes (a row lock per connection), always with the latest refresh token, which
  rotates and is persisted before anything else (§1.5).
- :func:`disconnect`: revoke and forget the tokens, keep the history (§1.6).

HTTP to Intuit lives in :mod:`qbo_sync.oauth_http`. Tokens are encrypted at rest by
the model fields and never logged (docs/architecture.md, invariant 5).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..conf import app_settings
from ..exceptions import (
    START_AGAIN,
    ConfigurationError,
    ConnectCancelled,
    ConnectError,
    ReconnectRequired,
    TokenRefreshFailed,
    TransientError,
)
from ..models import KEY_CANARY, Connection, OAuthState
from ..qbo import oauth_http
from ..sync.outbox import park_jobs, resume_parked

logger = logging.getLogger("qbo_sync.oauth")

RECONNECT = "Reconnect QuickBooks: Settings → QuickBooks → Reconnect."
_TOKEN_FIELDS = (
    "access_token", "refresh_token", "key_canary", "access_token_expires_at",
    "refresh_token_expires_at", "refresh_token_hard_expires_at", "token_refreshed_at",
)


# Connect ---------------------------------------------------------------------------


def start_connect(*, workspace: str, user: Any, redirect_uri: str) -> str:
    """The Intuit authorize URL to send the browser to. Creates a single-use state that
    expires after ``QBO_SYNC['STATE_TTL']`` seconds."""
    scopes = list(app_settings.SCOPES)
    if oauth_http.ACCOUNTING_SCOPE not in scopes:
        # Without it Intuit picks no company and sends no realmId (§1.2).
        raise ConfigurationError(
            f"QBO_SYNC['SCOPES'] is {scopes!r}.",
            fix=f"Add '{oauth_http.ACCOUNTING_SCOPE}' to QBO_SYNC['SCOPES'].",
        )
    now = timezone.now()
    OAuthState.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    state = secrets.token_urlsafe(32)
    sess = oauth_http.session(redirect_uri=redirect_uri, state=state)
    url, _ = sess.authorization_url(oauth_http.endpoints()["authorize_url"])
    OAuthState.objects.create(
        state=state, workspace=workspace, redirect_uri=redirect_uri,
        user=user if getattr(user, "is_authenticated", False) else None,
        expires_at=now + timedelta(seconds=int(app_settings.STATE_TTL)),
    )
    return url


def _check_state(state: str, user: Any) -> OAuthState:
    row = OAuthState.objects.filter(state=state).first() if state else None
    if row is None:
        raise ConnectError("This QuickBooks callback does not belong to a connect request "
                           "started here (unknown state).")
    if row.used_at is not None:
        raise ConnectError("This QuickBooks callback was already used (the page was "
                           "reloaded or opened twice).")
    if row.expires_at <= timezone.now():
        minutes = max(1, int(app_settings.STATE_TTL) // 60)
        raise ConnectError(f"The connect request expired: it must be finished within "
                           f"{minutes} minutes.")
    if row.user_id is not None and getattr(user, "pk", None) != row.user_id:
        raise ConnectError("The connect request was started by another user.",
                           fix="Sign in as the user who clicked Connect, or " + START_AGAIN)
    return row


def _callback_error(params: Mapping, state: str) -> ConnectError:
    """What Intuit's error callback means (§1.3); the state is spent either way."""
    if state:
        OAuthState.objects.filter(state=state, used_at__isnull=True).update(
            used_at=timezone.now())
    error = str(params.get("error"))
    if error == "access_denied":
        return ConnectCancelled(
            "The QuickBooks connection was cancelled on the QuickBooks page. Nothing changed.",
            code=error, fix="To connect, " + START_AGAIN[0].lower() + START_AGAIN[1:])
    if error == "invalid_scope":
        return ConnectError(
            "QuickBooks rejected the requested scopes (invalid_scope).", code=error,
            fix=f"Set QBO_SYNC['SCOPES'] to include '{oauth_http.ACCOUNTING_SCOPE}', then "
            "connect again.")
    description = str(params.get("error_description") or "")
    return ConnectError(f"QuickBooks answered {error}. {description}".strip(), code=error)


def _check_company(workspace: str, realm_id: str) -> None:
    """One workspace ↔ one QBO company (docs/architecture.md, invariant 8)."""
    other = (Connection.objects.filter(realm_id=realm_id)
             .exclude(workspace=workspace).exclude(status=Connection.Status.DISCONNECTED)
             .first())
    if other is not None:
        raise ConnectError(
            f"This QuickBooks company (realm {realm_id}) is already connected to another "
            "workspace.",
            fix="Choose another company, or disconnect it from the other workspace first.")
    current = Connection.objects.filter(workspace=workspace).first()
    if current and current.realm_id and current.realm_id != realm_id and current.links.exists():
        raise ConnectError(
            f"This workspace's synced records belong to QuickBooks company "
            f"{current.company_name or current.realm_id}; you chose another company.",
            fix=f"Connect {current.company_name or 'that company'} (realm {current.realm_id}) "
            "again. To switch companies, delete this workspace's QuickBooks links first.")


def complete_connect(*, code: str, state: str, realm_id: str | None, user: Any,
                     params: Mapping | None = None) -> Connection:
    """Finish the callback: check the state, exchange the code, store the tokens, read
    the company name and resume the workspace's parked jobs. Raises
    :class:`ConnectError` (message + fix) for everything the user can act on."""
    params = params if params is not None else {}
    if params.get("error"):
        raise _callback_error(params, state)
    row = _check_state(state, user)
    if not realm_id:
        if params.get("realm_id"):
            raise ConnectError(
                "The callback has 'realm_id' but no 'realmId'. Intuit sends the company id "
                "as 'realmId'.",
                fix="Pass Intuit's callback query string through unchanged (parameter "
                "'realmId'), then " + START_AGAIN[0].lower() + START_AGAIN[1:])
        raise ConnectError(
            "The callback has no realmId, so no QuickBooks company was chosen.",
            fix=f"Make sure QBO_SYNC['SCOPES'] includes '{oauth_http.ACCOUNTING_SCOPE}'. "
            + START_AGAIN)
    if not code:
        raise ConnectError("The callback has no authorization code.")
    _check_company(row.workspace, realm_id)
    # Spend the state before the code: a replayed callback cannot get this far.
    if not OAuthState.objects.filter(pk=row.pk, used_at__isnull=True).update(
            used_at=timezone.now()):
        raise ConnectError("This QuickBooks callback was already used.")

    issued_at = timezone.now()
    try:
        tokens = oauth_http.exchange_code(code, row.redirect_uri)
    except TokenRefreshFailed as exc:
        raise ConnectError("QuickBooks did not accept the authorization code: it expired or "
                           "was already used.", code="invalid_grant",
                           intuit_tid=exc.intuit_tid) from None
    except TransientError as exc:
        raise ConnectError(f"Could not reach QuickBooks to finish connecting: {exc.message}",
                           intuit_tid=exc.intuit_tid,
                           fix="Try again in a minute. " + START_AGAIN) from None
    name = oauth_http.company_name(realm_id, tokens["access_token"])

    with transaction.atomic():
        conn = Connection.objects.select_for_update().filter(workspace=row.workspace).first()
        conn = conn or Connection(workspace=row.workspace)
        _apply_tokens(conn, tokens, issued_at)
        if conn.connected_at is None or conn.realm_id != realm_id:
            # A reconnect to the same company keeps the original date: invoices issued
            # since then are still the connection's to sync by themselves.
            conn.connected_at = issued_at
        conn.realm_id = realm_id
        conn.company_name = name or conn.company_name
        conn.environment = app_settings.ENVIRONMENT
        conn.status = Connection.Status.CONNECTED
        conn.status_reason = ""
        conn.connected_by = user if getattr(user, "is_authenticated", False) else None
        conn.disconnected_at = None
        conn.save()
        # Parked jobs become due and are dispatched once this transaction commits.
        resumed = resume_parked(conn)
    logger.info("Workspace %s connected to QuickBooks realm %s; %d parked jobs resumed",
                conn.workspace, realm_id, resumed)
    return conn


# Tokens ------------------------------------------------------------------------------


def _apply_tokens(conn: Connection, tokens: Mapping, issued_at: datetime) -> None:
    """Copy a token response onto the connection (expiries counted from before the
    request was sent, so they are never late)."""
    def after(key: str) -> datetime | None:
        return issued_at + timedelta(seconds=int(tokens[key])) if key in tokens else None

    conn.access_token = tokens["access_token"]
    conn.refresh_token = tokens.get("refresh_token") or conn.refresh_token
    conn.key_canary = KEY_CANARY
    conn.access_token_expires_at = after("expires_in") or issued_at + timedelta(hours=1)
    conn.refresh_token_expires_at = after("x_refresh_token_expires_in")
    conn.refresh_token_hard_expires_at = (
        after("x_refresh_token_hard_expires_in") or conn.refresh_token_hard_expires_at)
    conn.token_refreshed_at = issued_at


def _copy_tokens(source: Connection, target: Connection) -> None:
    for name in (*_TOKEN_FIELDS, "status", "status_reason"):
        setattr(target, name, getattr(source, name))


def get_access_token(connection: Connection) -> str:
    """A usable access token, refreshed first when it has less than
    ``QBO_SYNC['REFRESH_MARGIN']`` seconds left."""
    if connection.status != Connection.Status.CONNECTED:
        raise ReconnectRequired(
            f"Workspace {connection.workspace} is not connected to QuickBooks "
            f"({connection.get_status_display()}).", fix=RECONNECT)
    check_key(connection)
    if connection.access_token_valid_for(int(app_settings.REFRESH_MARGIN)):
        return connection.access_token
    return refresh_tokens(connection, stale_access_token=connection.access_token).access_token


def check_key(connection: Connection) -> None:
    """Refuse to use tokens the configured key cannot decrypt.

    With a wrong ``FIELD_ENCRYPTION_KEY`` the field library hands back ciphertext; sent
    to Intuit it would fail as ``invalid_grant`` and look like a revoked connection.
    """
    if connection.key_canary and connection.key_canary != KEY_CANARY:
        raise ConfigurationError(
            f"FIELD_ENCRYPTION_KEY cannot decrypt the QuickBooks tokens of workspace "
            f"{connection.workspace}.",
            fix="Restore the key they were encrypted with (to rotate, list the new key "
                "first and keep the old one: FIELD_ENCRYPTION_KEY = [new, old]).",
        )


def refresh_tokens(connection: Connection, *,
                   stale_access_token: str | None = None) -> Connection:
    """Refresh the tokens once across all processes; returns ``connection`` updated.

    Under a row lock: if another process already refreshed (the stored access token
    differs from ``stale_access_token`` — by default the one ``connection`` holds —
    and is still good), use its tokens. Otherwise refresh with the stored (latest)
    refresh token and save the rotated one at once (docs/qbo-rules.md §1.5).
    ``invalid_grant`` marks the connection as needing reconnect, parks its waiting
    jobs and raises :class:`TokenRefreshFailed`.
    """
    stale = connection.access_token if stale_access_token is None else stale_access_token
    margin = int(app_settings.REFRESH_MARGIN)
    failure: TokenRefreshFailed | None = None
    with transaction.atomic():
        row = Connection.objects.select_for_update().get(pk=connection.pk)
        check_key(row)
        if row.status != Connection.Status.CONNECTED or not row.refresh_token:
            raise TokenRefreshFailed(
                f"Workspace {row.workspace} is not connected to QuickBooks "
                f"({row.get_status_display()}).", fix=RECONNECT)
        if row.access_token != stale and row.access_token_valid_for(margin):
            _copy_tokens(row, connection)
            return connection
        issued_at = timezone.now()
        try:
            tokens = oauth_http.refresh(row.refresh_token)
        except TokenRefreshFailed as exc:
            row.status = Connection.Status.ERROR
            row.status_reason = (f"QuickBooks refused to refresh the tokens ({exc.message}) "
                                 f"{RECONNECT}")
            row.save(update_fields=["status", "status_reason", "updated_at"])
            parked = park_jobs(row.workspace)
            logger.warning("QuickBooks refresh failed for workspace %s (realm %s, intuit_tid "
                           "%s): connection needs reconnect; %d jobs parked",
                           row.workspace, row.realm_id, exc.intuit_tid, parked)
            exc.fix = RECONNECT
            failure = exc
        else:
            _apply_tokens(row, tokens, issued_at)
            row.save(update_fields=[*_TOKEN_FIELDS, "updated_at"])
    _copy_tokens(row, connection)
    if failure is not None:
        raise failure
    return connection


# Disconnect ------------------------------------------------------------------------------


def disconnect(connection: Connection, *, user: Any = None) -> Connection:
    """Revoke the grant at Intuit (best effort), forget the tokens and mark the
    connection disconnected. Links and job history stay; waiting jobs are parked
    until the company is connected again."""
    with transaction.atomic():
        row = Connection.objects.select_for_update().get(pk=connection.pk)
        token = row.refresh_token or row.access_token
        if token and not oauth_http.revoke(token):
            logger.warning("Workspace %s: tokens could not be revoked at Intuit; they are "
                           "forgotten here anyway", row.workspace)
        for name in ("access_token", "refresh_token"):
            setattr(row, name, "")
        for name in ("access_token_expires_at", "refresh_token_expires_at",
                     "refresh_token_hard_expires_at"):
            setattr(row, name, None)
        row.status = Connection.Status.DISCONNECTED
        who = getattr(user, "get_username", lambda: "")() if user is not None else ""
        row.status_reason = f"Disconnected by {who}." if who else "Disconnected."
        row.disconnected_at = timezone.now()
        row.save()
        park_jobs(row.workspace)
    _copy_tokens(row, connection)
    connection.disconnected_at = row.disconnected_at
    return connection
