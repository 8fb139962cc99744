"""HTTP calls to Intuit's OAuth endpoints (docs/qbo-rules.md §1.4, §1.6), through
requests-oauthlib, with Intuit's errors turned into qbo_sync exceptions.

Nothing here touches the database; :mod:`qbo_sync.connection.oauth` decides what to
store. Tokens and the client secret never reach a log line, an exception message or a
traceback (docs/architecture.md, invariant 5): they come in and go out as
:class:`~qbo_sync.secrets.Secret`, are revealed only by the auth objects below while
``requests`` prepares the request, and every function that handles them is marked
``sensitive_variables()``, which also masks the variables of every library frame below
it in Django's error reports.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote as url_quote

import requests
from django.views.decorators.debug import sensitive_variables
from oauthlib.oauth2 import InvalidClientError, InvalidGrantError, OAuth2Error
from requests_oauthlib import OAuth2Session

from ..conf import app_settings, effective_minor_version
from ..exceptions import ConfigurationError, NetworkError, ServerError, TokenRefreshFailed
from ..secrets import Secret
from .client import BearerAuth
from .faults import ci_get, exception_from_response

logger = logging.getLogger("qbo_sync.oauth")

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
#: Ask for the refresh-token chain's 5-year cap with every token call (§1.4 [2025]).
HARD_EXPIRY_HEADER = "x-include-refresh-token-hard-expires-in"


class _NoDebugRecords(logging.Filter):
    """requests-oauthlib logs request bodies and token responses at DEBUG, which
    would put codes and tokens in a host's debug logs. Drop those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


logging.getLogger("requests_oauthlib.oauth2_session").addFilter(_NoDebugRecords())


#: Token response fields that are secrets (docs/qbo-rules.md §1.4).
SECRET_FIELDS = ("access_token", "refresh_token", "id_token")


@sensitive_variables()
def credentials() -> tuple[str, Secret]:
    """The app's client id and secret; a ConfigurationError names the settings."""
    client_id, secret = app_settings.CLIENT_ID, Secret.of(app_settings.CLIENT_SECRET)
    if not client_id or not secret:
        raise ConfigurationError(
            "QuickBooks app keys are missing.",
            fix="Set QBO_SYNC['CLIENT_ID'] and QBO_SYNC['CLIENT_SECRET'] to the keys from "
            "the Intuit developer portal (Keys & credentials).",
        )
    return client_id, secret


def endpoints() -> dict[str, str]:
    urls = app_settings.endpoints()
    if app_settings.ENVIRONMENT == "simulator" and urls["token_url"].startswith("http://"):
        # oauthlib refuses plain HTTP unless this is set. Only the local simulator is
        # ever served over HTTP; Intuit's endpoints are HTTPS (§1.1).
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    return urls


class ClientAuth:
    """HTTP Basic with the app's keys (§1.4, §1.6), added when ``requests`` prepares the
    request, so the client secret is plain in no frame above that point. With ``token``
    it also writes the revoke body ``{"token": …}`` (§1.6) the same way."""

    def __init__(self, client_id: str, secret: Secret, *, token: Secret | None = None) -> None:
        self.client_id, self.secret, self.token = client_id, secret, token

    @sensitive_variables()
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Basic " + base64.b64encode(
            f"{self.client_id}:{self.secret.reveal()}".encode()).decode("ascii")
        if self.token is not None:
            request.prepare_body(data=None, files=None, json={"token": self.token.reveal()})
        return request

    def __repr__(self) -> str:
        return f"<ClientAuth {self.client_id!r} {self.secret!r}>"


def _sealed(tokens: dict) -> dict:
    """A token response with its secrets wrapped, the moment it arrives."""
    return {k: Secret.of(v) if k in SECRET_FIELDS else v for k, v in tokens.items()}


def session(*, redirect_uri: str | None = None, state: str | None = None) -> OAuth2Session:
    client_id, _ = credentials()
    return OAuth2Session(
        client_id, redirect_uri=redirect_uri, scope=list(app_settings.SCOPES), state=state
    )


@sensitive_variables()
def _token_call(call: Callable[[OAuth2Session, str, dict[str, Any]], dict],
                *, redirect_uri: str | None) -> dict:
    """Run one token-endpoint call and map the outcome (§1.7). The response comes back
    with its tokens as :class:`Secret`."""
    urls = endpoints()
    client_id, secret = credentials()
    sess = session(redirect_uri=redirect_uri)
    seen: dict[str, Any] = {}

    def check(resp: requests.Response) -> requests.Response:
        seen["tid"] = resp.headers.get("intuit_tid", "")
        if resp.status_code >= 500:
            raise ServerError(
                f"Intuit's token endpoint answered HTTP {resp.status_code}.",
                status_code=resp.status_code, intuit_tid=seen["tid"],
            )
        return resp

    for hook in ("access_token_response", "refresh_token_response"):
        sess.register_compliance_hook(hook, check)
    kwargs = {
        "auth": ClientAuth(client_id, secret),
        "timeout": tuple(app_settings.TIMEOUT),
        "headers": {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            HARD_EXPIRY_HEADER: "true",
        },
    }
    try:
        return _sealed(call(sess, urls["token_url"], kwargs))
    except requests.RequestException as exc:
        # Only the exception type: the message of some carries the request.
        raise NetworkError(
            f"Could not reach Intuit's token endpoint ({type(exc).__name__})."
        ) from None
    except InvalidGrantError as exc:
        raise TokenRefreshFailed(
            "QuickBooks rejected the grant (invalid_grant): "
            f"{exc.description or 'revoked, expired or already used'}.",
            code="invalid_grant", status_code=400, intuit_tid=seen.get("tid", ""),
        ) from None
    except InvalidClientError:
        raise ConfigurationError(
            "Intuit rejected the app's client credentials (invalid_client).",
            code="invalid_client", status_code=401, intuit_tid=seen.get("tid", ""),
            fix="Check QBO_SYNC['CLIENT_ID'] and QBO_SYNC['CLIENT_SECRET']: they must be the "
            "keys of this app for the configured ENVIRONMENT (Development keys for sandbox, "
            "Production keys for production).",
        ) from None
    except (OAuth2Error, ValueError) as exc:
        error = getattr(exc, "error", "") or "an unexpected response"
        raise ServerError(
            f"Intuit's token endpoint answered {error}.",
            code=str(getattr(exc, "error", "") or ""), intuit_tid=seen.get("tid", ""),
        ) from None
    finally:
        sess.close()


@sensitive_variables()
def exchange_code(code: str, redirect_uri: str) -> dict:
    """Authorization code → token response (§1.4), its tokens as :class:`Secret`.
    redirect_uri must be the exact one sent to the authorize endpoint."""
    return _token_call(
        lambda s, url, kw: s.fetch_token(url, code=code, include_client_id=False, **kw),
        redirect_uri=redirect_uri,
    )


@sensitive_variables()
def refresh(refresh_token: Secret) -> dict:
    """Refresh token → token response with a rotated refresh token (§1.5), its tokens
    as :class:`Secret`."""
    return _token_call(
        lambda s, url, kw: s.refresh_token(url, refresh_token=refresh_token.reveal(), **kw),
        redirect_uri=None,
    )


@sensitive_variables()
def revoke(token: Secret) -> bool:
    """Revoke the grant the token belongs to (§1.6). Best effort: failures are logged
    (status and intuit_tid only) and reported as False."""
    try:
        client_id, secret = credentials()
        resp = requests.post(
            endpoints()["revoke_url"], auth=ClientAuth(client_id, secret, token=Secret.of(token)),
            headers={"Accept": "application/json"}, timeout=tuple(app_settings.TIMEOUT),
        )
    except (requests.RequestException, ConfigurationError) as exc:
        logger.warning("QuickBooks token revoke failed: %s", type(exc).__name__)
        return False
    if resp.status_code != 200:
        logger.warning("QuickBooks token revoke answered HTTP %s (intuit_tid %s)",
                       resp.status_code, resp.headers.get("intuit_tid", ""))
        return False
    return True


@sensitive_variables()
def company_info(realm_id: str, access_token: Secret) -> dict:
    """``GET /v3/company/{realmId}/companyinfo/{realmId}`` with a new grant's token
    (§2.1, §5.9): the ``CompanyInfo`` object, or the typed error QBO answered with. A
    token issued for another company gets 401/403 (§1.7, §4.2), so a successful read
    proves the grant is for ``realm_id``."""
    realm = url_quote(realm_id, safe="")
    url = f"{endpoints()['api_base']}/v3/company/{realm}/companyinfo/{realm}"
    try:
        resp = requests.get(
            url, params={"minorversion": str(effective_minor_version())},
            auth=BearerAuth(Secret.of(access_token)), headers={"Accept": "application/json"},
            timeout=tuple(app_settings.TIMEOUT),
        )
    except requests.RequestException as exc:
        # Only the exception type: the message of some carries the request.
        raise NetworkError(
            f"Could not reach QuickBooks to read the company ({type(exc).__name__})."
        ) from None
    if resp.status_code >= 400:
        raise exception_from_response(resp)
    tid = resp.headers.get("intuit_tid", "")
    try:
        info = ci_get(resp.json(), "CompanyInfo")
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise ServerError("QuickBooks answered without the CompanyInfo object.",
                          status_code=resp.status_code, intuit_tid=tid)
    return info


def company_name(info: dict) -> str:
    """The name to show for a company (CompanyName, else LegalName)."""
    return str(info.get("CompanyName") or info.get("LegalName") or "")
