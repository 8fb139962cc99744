"""Connecting a workspace to a QuickBooks company and keeping its tokens fresh.

- :func:`start_connect` / :func:`complete_connect`: the authorize redirect and the
  callback (docs/qbo-rules.md §1.3, §1.4), CSRF-protected by a single-use, expiring
  :class:`~qbo_sync.models.OAuthState` bound to the user who started it. The callback
  proves its company: ``realmId`` must look like a QBO company id and the new grant must
  be able to read that company's CompanyInfo; otherwise the connect is refused and the
  grant revoked. One company per workspace is also enforced by the database.
- :func:`get_access_token` / :func:`refresh_tokens`: single-flight refresh across
  processes with a short lease on the connection row, never a transaction held across
  the call to Intuit; always with the latest refresh token, which rotates and is saved
  before anything else (§1.5).
- :func:`disconnect`: forget the tokens, revoke the grant, keep the history (§1.6).

HTTP to Intuit lives in :mod:`qbo_sync.qbo.oauth_http`. Tokens are encrypted at rest by
the model fields, never logged, and handled here only as
:class:`~qbo_sync.secrets.Secret`; the functions that hold them are marked
``sensitive_variables`` (docs/architecture.md, invariant 5).
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ..conf import app_settings
from ..exceptions import (
    START_AGAIN,
    ConfigurationError,
    ConnectCancelled,
    ConnectError,
    QBOSyncError,
    ReconnectRequired,
    TokenRefreshFailed,
    TransientError,
)
from ..models import KEY_CANARY, Connection, OAuthState
from ..qbo import oauth_http
from ..secrets import Secret
from ..sync.outbox import park_jobs, resume_parked

logger = logging.getLogger("qbo_sync.oauth")

RECONNECT = "Reconnect QuickBooks: Settings → QuickBooks → Reconnect."
_TOKEN_FIELDS = (
    "access_token", "refresh_token", "key_canary", "access_token_expires_at",
    "refresh_token_expires_at", "refresh_token_hard_expires_at", "token_refreshed_at",
)
#: A QBO company id as the callback's realmId carries it: digits (docs/qbo-rules.md §1.3).
_REALM_ID = re.compile(r"[0-9]+")
#: Seconds a worker waits for another worker's refresh before giving up for now.
LEASE_WAIT = 10.0
POLL_SECONDS = 0.05
#: Saving the rotated refresh token is retried this many times (§1.5: never lose it).
SAVE_ATTEMPTS = 4
SAVE_RETRY_SECONDS = 0.2


def _lease_seconds() -> float:
    """How long a refresh lease lasts: longer than the token call can take, so a live
    refresher never loses it (connect + read timeout, plus slack)."""
    return float(sum(app_settings.TIMEOUT)) + 30.0


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


def _check_realm_format(realm_id: str, state: OAuthState) -> None:
    """``realmId`` comes from the browser's address bar: refuse anything that is not a
    QBO company id before it reaches a URL or the database (docs/qbo-rules.md §1.3)."""
    limit = Connection._meta.get_field("realm_id").max_length
    if _REALM_ID.fullmatch(realm_id) and len(realm_id) <= limit:
        return
    # A tampered callback: spend the state so it cannot be tried again with another id.
    OAuthState.objects.filter(pk=state.pk, used_at__isnull=True).update(used_at=timezone.now())
    shown = realm_id if len(realm_id) <= 40 else realm_id[:40] + "…"
    raise ConnectError(
        f"The callback's realmId {shown!r} is not a QuickBooks company id (digits only, "
        f"at most {limit}). Nothing was connected.", code="invalid_realm",
        fix="Start again with Connect QuickBooks and choose the company on the QuickBooks "
        "page; the address QuickBooks sends you back to must reach this app unchanged.")


def _check_company(workspace: str, realm_id: str) -> None:
    """One workspace ↔ one QBO company (docs/architecture.md, invariant 8); the
    database enforces the same rule (``qbo_one_workspace_per_company``)."""
    other = (Connection.objects.filter(realm_id=realm_id, environment=app_settings.ENVIRONMENT)
             .exclude(workspace=workspace).exclude(status=Connection.Status.DISCONNECTED)
             .first())
    if other is not None:
        raise _company_taken(realm_id)
    current = Connection.objects.filter(workspace=workspace).first()
    if current and current.realm_id and current.realm_id != realm_id and current.links.exists():
        raise ConnectError(
            f"This workspace's synced records belong to QuickBooks company "
            f"{current.company_name or current.realm_id}; you chose another company.",
            fix=f"Connect {current.company_name or 'that company'} (realm {current.realm_id}) "
            "again. To switch companies, delete this workspace's QuickBooks links first.")


def _company_taken(realm_id: str, note: str = "") -> ConnectError:
    return ConnectError(
        f"This QuickBooks company (realm {realm_id}) is already connected to another "
        f"workspace.{note}",
        fix="Choose another company, or disconnect it from the other workspace first.")


@sensitive_variables("tokens", "token")
def _revoke_grant(tokens: Mapping) -> str:
    """Revoke a grant the callback obtained but will not keep; returns a sentence for
    the refusal page saying what became of it (docs/qbo-rules.md §1.6)."""
    token = tokens.get("refresh_token") or tokens.get("access_token")
    if token and oauth_http.revoke(token):
        return " The authorization QuickBooks gave was revoked."
    logger.warning("A refused QuickBooks connect could not revoke its grant at Intuit")
    return (" The authorization QuickBooks gave could not be revoked; it is not stored "
            "here and expires unused.")


@sensitive_variables("tokens")
def _read_company(realm_id: str, tokens: Mapping) -> dict:
    """CompanyInfo of ``realm_id`` read with the new grant: proof that the grant is for
    the company the callback names (a token of another company gets 401/403, §1.7,
    §4.2). Refuses the connect, revoking the grant, when it cannot be read."""
    try:
        return oauth_http.company_info(realm_id, tokens["access_token"])
    except TransientError as exc:
        revoked = _revoke_grant(tokens)
        raise ConnectError(
            f"Could not read QuickBooks company {realm_id} to finish connecting "
            f"({exc.message}).{revoked}", intuit_tid=exc.intuit_tid,
            fix="Try again in a minute. " + START_AGAIN) from None
    except QBOSyncError as exc:
        revoked = _revoke_grant(tokens)
        reason = exc.detail or exc.message or type(exc).__name__
        raise ConnectError(
            f"QuickBooks did not let the new authorization read company {realm_id} "
            f"({reason}): the callback names a company other than the one chosen on the "
            f"QuickBooks page, or the app may not use it. Nothing was connected.{revoked}",
            code="company_mismatch", intuit_tid=exc.intuit_tid,
            fix="Start again with Connect QuickBooks and choose the company on the "
            "QuickBooks page; the address QuickBooks sends you back to must reach this app "
            "unchanged. If it keeps happening, check that the app's keys are for the "
            "configured QBO_SYNC['ENVIRONMENT'].") from None


@sensitive_variables("tokens", "code", "params")
def complete_connect(*, code: str, state: str, realm_id: str | None, user: Any,
                     params: Mapping | None = None) -> Connection:
    """Finish the callback: check the state and the realm id, exchange the code, prove
    the company with a CompanyInfo read, store the tokens and resume the workspace's
    parked jobs. Raises :class:`ConnectError` (message + fix) for everything the user
    can act on; a grant obtained for a connect that is refused is revoked."""
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
    _check_realm_format(realm_id, row)
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
    try:
        info = _read_company(realm_id, tokens)
        conn = _store_connection(row, realm_id, tokens, issued_at, info, user)
    except ConnectError:
        raise  # already explained, and the grant already revoked
    except BaseException:
        # Whatever failed, a grant that is not stored must not stay alive at Intuit.
        try:
            _revoke_grant(tokens)
        except Exception as exc:  # noqa: BLE001 - the original failure is the one to raise
            logger.warning("A failed QuickBooks connect could not revoke its grant: %s",
                           type(exc).__name__)
        raise
    logger.info("Workspace %s connected to QuickBooks realm %s", conn.workspace, realm_id)
    return conn


@sensitive_variables("tokens")
def _store_connection(state: OAuthState, realm_id: str, tokens: Mapping,
                      issued_at: datetime, info: Mapping, user: Any) -> Connection:
    """Save the new grant on the workspace's connection and resume its parked jobs. A
    concurrent callback that stored the same company for another workspace first
    (the database's one-company-per-workspace constraint) refuses this one."""
    try:
        with transaction.atomic():
            conn = (Connection.objects.select_for_update()
                    .filter(workspace=state.workspace).first())
            conn = conn or Connection(workspace=state.workspace)
            _apply_tokens(conn, tokens, issued_at)
            # An authorization code starts a new refresh-token chain; refreshes keep
            # this date (docs/qbo-rules.md §1.5, the 5-year cap).
            conn.refresh_chain_started_at = issued_at
            if conn.connected_at is None or conn.realm_id != realm_id:
                # A reconnect to the same company keeps the original date: invoices
                # issued since then are still the connection's to sync by themselves.
                conn.connected_at = issued_at
            conn.realm_id = realm_id
            conn.company_name = oauth_http.company_name(info) or conn.company_name
            conn.environment = app_settings.ENVIRONMENT
            conn.status = Connection.Status.CONNECTED
            conn.status_reason = ""
            conn.connected_by = user if getattr(user, "is_authenticated", False) else None
            conn.disconnected_at = None
            conn.refresh_lease_until = None
            conn.save()
            # Parked jobs become due and are dispatched once this transaction commits.
            resumed = resume_parked(conn)
    except IntegrityError:
        revoked = _revoke_grant(tokens)
        taken = (Connection.objects.filter(realm_id=realm_id,
                                           environment=app_settings.ENVIRONMENT)
                 .exclude(workspace=state.workspace)
                 .exclude(status=Connection.Status.DISCONNECTED).exists())
        if taken:
            raise _company_taken(realm_id, " It was connected there while this connect was "
                                 f"finishing.{revoked}") from None
        raise ConnectError("Another connect of this workspace finished at the same time; "
                           f"this one was not stored.{revoked}",
                           fix="Reload the connection page: the other connect is in "
                           "place. To connect another company, " + START_AGAIN[0].lower()
                           + START_AGAIN[1:]) from None
    logger.info("Workspace %s: %d parked jobs resumed", conn.workspace, resumed)
    return conn


# Tokens ------------------------------------------------------------------------------


@sensitive_variables("tokens")
def _apply_tokens(conn: Connection, tokens: Mapping, issued_at: datetime) -> None:
    """Copy a token response onto the connection (expiries counted from before the
    request was sent, so they are never late). The model fields encrypt them."""
    def after(key: str) -> datetime | None:
        return issued_at + timedelta(seconds=int(tokens[key])) if key in tokens else None

    conn.access_token = Secret.of(tokens["access_token"]).reveal()
    if tokens.get("refresh_token"):
        conn.refresh_token = Secret.of(tokens["refresh_token"]).reveal()
    conn.key_canary = KEY_CANARY
    conn.access_token_expires_at = after("expires_in") or issued_at + timedelta(hours=1)
    conn.refresh_token_expires_at = after("x_refresh_token_expires_in")
    conn.refresh_token_hard_expires_at = (
        after("x_refresh_token_hard_expires_in") or conn.refresh_token_hard_expires_at)
    conn.token_refreshed_at = issued_at


def _copy_tokens(source: Connection, target: Connection) -> None:
    for name in (*_TOKEN_FIELDS, "refresh_chain_started_at", "status", "status_reason"):
        setattr(target, name, getattr(source, name))


def get_access_token(connection: Connection) -> Secret:
    """A usable access token, refreshed first when it has less than
    ``QBO_SYNC['REFRESH_MARGIN']`` seconds left."""
    if connection.status != Connection.Status.CONNECTED:
        raise ReconnectRequired(
            f"Workspace {connection.workspace} is not connected to QuickBooks "
            f"({connection.get_status_display()}).", fix=RECONNECT)
    check_key(connection)
    if not connection.access_token_valid_for(int(app_settings.REFRESH_MARGIN)):
        _refresh(connection, Secret(connection.access_token), rejected=False)
    return Secret(connection.access_token)


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


@sensitive_variables("stale", "stale_access_token")
def refresh_tokens(connection: Connection, *,
                   stale_access_token: Secret | str | None = None) -> Connection:
    """Refresh the tokens once across all processes; returns ``connection`` updated.

    If another process already refreshed (the stored access token differs from
    ``stale_access_token`` — by default the one ``connection`` holds — and is still
    good), its tokens are used. Otherwise one worker takes a short lease on the row,
    calls Intuit with the stored (latest) refresh token outside any transaction, and
    saves the rotated one at once (docs/qbo-rules.md §1.5); the others wait for it and
    re-read. ``invalid_grant`` marks the connection as needing reconnect, parks its
    waiting jobs and raises :class:`TokenRefreshFailed`.

    Call it outside a transaction (the engine does): inside one, the lease is not seen
    by other processes until the caller commits.
    """
    if stale_access_token is None:
        return _refresh(connection, Secret(connection.access_token), rejected=False)
    return _refresh(connection, Secret.of(stale_access_token), rejected=True)


def _refreshable(connection: Connection) -> Connection:
    """The stored row, if it can be refreshed at all."""
    row = Connection.objects.get(pk=connection.pk)
    check_key(row)
    if row.status != Connection.Status.CONNECTED or not row.refresh_token:
        raise TokenRefreshFailed(
            f"Workspace {row.workspace} is not connected to QuickBooks "
            f"({row.get_status_display()}).", fix=RECONNECT)
    return row


def _take_lease(pk: int) -> datetime | None:
    """The refresh lease of connection ``pk``, if free (or run out), in its own short
    transaction; returns its end, which identifies it, or None."""
    now = timezone.now()
    until = now + timedelta(seconds=_lease_seconds())
    free = Q(refresh_lease_until__isnull=True) | Q(refresh_lease_until__lte=now)
    with transaction.atomic():
        taken = Connection.objects.filter(free, pk=pk).update(refresh_lease_until=until)
    return until if taken else None


def _release_lease(pk: int, until: datetime) -> None:
    """Give our lease back (only ours: if it ran out and someone took over, theirs
    stays). A failure here only delays the next refresh until the lease runs out."""
    try:
        Connection.objects.filter(pk=pk, refresh_lease_until=until).update(
            refresh_lease_until=None)
    except DatabaseError as exc:
        logger.warning("Could not release the token refresh lease of connection %s (%s); "
                       "it runs out by itself", pk, type(exc).__name__)


@sensitive_variables("stale")
def _refresh(connection: Connection, stale: Secret, *, rejected: bool) -> Connection:
    """Single-flight refresh. ``stale`` is the token the caller wants replaced;
    ``rejected``: QBO refused it (a 401), so it is not usable even while unexpired."""
    margin = int(app_settings.REFRESH_MARGIN)
    deadline = time.monotonic() + LEASE_WAIT
    while True:
        row = _refreshable(connection)
        if Secret(row.access_token) != stale and row.access_token_valid_for(margin):
            _copy_tokens(row, connection)  # another process already refreshed
            return connection
        lease = _take_lease(row.pk)
        if lease is not None:
            break
        if time.monotonic() >= deadline:
            if not rejected and row.access_token_valid_for(0):
                _copy_tokens(row, connection)  # still good for a few minutes: use it
                return connection
            raise TransientError(
                f"Another worker has been refreshing the QuickBooks tokens of workspace "
                f"{row.workspace} for more than {LEASE_WAIT:.0f} seconds.",
                fix="Nothing to do: the sync retries by itself. If it keeps happening, "
                "check that the workers can reach Intuit's token endpoint.")
        time.sleep(POLL_SECONDS)  # someone else is refreshing: wait, then re-read
    try:
        return _refresh_under_lease(connection, stale, margin, lease)
    finally:
        _release_lease(connection.pk, lease)


@sensitive_variables("stale", "used", "tokens")
def _refresh_under_lease(connection: Connection, stale: Secret, margin: int,
                         lease: datetime) -> Connection:
    # Re-read under the lease: a refresh may have finished between our read and the lease.
    row = _refreshable(connection)
    if Secret(row.access_token) != stale and row.access_token_valid_for(margin):
        _copy_tokens(row, connection)
        return connection
    used, seen_at = Secret(row.refresh_token), row.token_refreshed_at
    issued_at = timezone.now()
    try:
        # No transaction is open here: other writes to this row and to the rest of the
        # database go on while Intuit answers.
        tokens = oauth_http.refresh(used)
    except TokenRefreshFailed as exc:
        return _refresh_refused(connection, exc, used)
    return _save_refreshed(connection, tokens, issued_at, used, seen_at, lease)


@sensitive_variables("used", "tokens")
def _save_refreshed(connection: Connection, tokens: Mapping, issued_at: datetime,
                    used: Secret, seen_at: datetime | None, lease: datetime) -> Connection:
    """Store the token response in a short transaction, unless someone refreshed since
    we read the row. Intuit has already rotated the refresh token, so a failing save is
    retried before giving up (docs/qbo-rules.md §1.5)."""
    failure: DatabaseError | None = None
    for attempt in range(SAVE_ATTEMPTS):
        if attempt:
            time.sleep(SAVE_RETRY_SECONDS * 2 ** (attempt - 1))
        try:
            with transaction.atomic():
                row = Connection.objects.select_for_update().get(pk=connection.pk)
                if Secret(row.refresh_token) != used or row.token_refreshed_at != seen_at:
                    # Our lease ran out while Intuit was answering and another worker
                    # refreshed after us: its request started later, keep its tokens.
                    logger.warning("QuickBooks tokens of workspace %s were refreshed by "
                                   "another worker meanwhile; keeping those",
                                   row.workspace)
                else:
                    _apply_tokens(row, tokens, issued_at)
                    fields = [*_TOKEN_FIELDS, "updated_at"]
                    if row.refresh_lease_until == lease:
                        row.refresh_lease_until = None
                        fields.append("refresh_lease_until")
                    row.save(update_fields=fields)
        except DatabaseError as exc:
            failure = exc
            logger.warning("Saving the refreshed QuickBooks tokens of connection %s failed "
                           "(attempt %d of %d): %s", connection.pk, attempt + 1,
                           SAVE_ATTEMPTS, type(exc).__name__)
            continue
        _copy_tokens(row, connection)
        return connection
    logger.error("QuickBooks refreshed the tokens of connection %s but they could not be "
                 "saved after %d attempts: %s", connection.pk, SAVE_ATTEMPTS,
                 type(failure).__name__)
    raise TransientError(
        f"QuickBooks refreshed the tokens of workspace {connection.workspace}, but the "
        f"database refused to save them {SAVE_ATTEMPTS} times "
        f"({type(failure).__name__}).",
        fix="Make sure the database accepts writes; the sync retries by itself. The "
        "previous refresh token keeps working for about 24 hours, so no reconnect is "
        "needed if the database is back by then; after that, reconnect QuickBooks.")


@sensitive_variables("used")
def _refresh_refused(connection: Connection, exc: TokenRefreshFailed,
                     used: Secret) -> Connection:
    """``invalid_grant``: the connection needs a reconnect, unless another worker
    rotated the refresh token meanwhile (then ours was merely superseded)."""
    with transaction.atomic():
        row = Connection.objects.select_for_update().get(pk=connection.pk)
        if row.status == Connection.Status.CONNECTED and Secret(row.refresh_token) != used:
            _copy_tokens(row, connection)
            return connection
        row.status = Connection.Status.ERROR
        row.status_reason = (f"QuickBooks refused to refresh the tokens ({exc.message}) "
                             f"{RECONNECT}")
        row.save(update_fields=["status", "status_reason", "updated_at"])
        parked = park_jobs(row.workspace)
    logger.warning("QuickBooks refresh failed for workspace %s (realm %s, intuit_tid %s): "
                   "connection needs reconnect; %d jobs parked",
                   row.workspace, row.realm_id, exc.intuit_tid, parked)
    _copy_tokens(row, connection)
    exc.fix = RECONNECT
    raise exc


# Disconnect ------------------------------------------------------------------------------


@sensitive_variables("token")
def disconnect(connection: Connection, *, user: Any = None) -> Connection:
    """Forget the tokens and mark the connection disconnected, then revoke the grant at
    Intuit (best effort, outside the transaction). Links and job history stay;
    waiting jobs are parked until the company is connected again."""
    with transaction.atomic():
        row = Connection.objects.select_for_update().get(pk=connection.pk)
        token = Secret(row.refresh_token or row.access_token)
        for name in ("access_token", "refresh_token"):
            setattr(row, name, "")
        for name in ("access_token_expires_at", "refresh_token_expires_at",
                     "refresh_token_hard_expires_at", "refresh_chain_started_at",
                     "refresh_lease_until"):
            setattr(row, name, None)
        row.status = Connection.Status.DISCONNECTED
        who = getattr(user, "get_username", lambda: "")() if user is not None else ""
        row.status_reason = f"Disconnected by {who}." if who else "Disconnected."
        row.disconnected_at = timezone.now()
        row.save()
        park_jobs(row.workspace)
    if token and not oauth_http.revoke(token):
        logger.warning("Workspace %s: tokens could not be revoked at Intuit; they are "
                       "forgotten here anyway", row.workspace)
    _copy_tokens(row, connection)
    connection.disconnected_at = row.disconnected_at
    return connection
