"""HTTP calls to Intuit's OAuth endpoints (docs/qbo-rules.md §1.4, §1.6), through
requests-oauthlib, with Intuit's errors turned into qbo_sync exceptions.

Nothing here touches the database; :mod:`qbo_sync.oauth` decides what to store.
Tokens never reach a log line, an exception message or a traceback (docs/architecture.md,
invariant 5).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import requests
from oauthlib.oauth2 import InvalidClientError, InvalidGrantError, OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from ..conf import app_settings, effective_minor_version
from ..exceptions import ConfigurationError, NetworkError, ServerError, TokenRefreshFailed

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


def credentials() -> tuple[str, str]:
    """The app's client id and secret; a ConfigurationError names the settings."""
    client_id, secret = app_settings.CLIENT_ID, app_settings.CLIENT_SECRET
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


def session(*, redirect_uri: str | None = None, state: str | None = None) -> OAuth2Session:
    client_id, _ = credentials()
    return OAuth2Session(
        client_id, redirect_uri=redirect_uri, scope=list(app_settings.SCOPES), state=state
    )


def _token_call(call: Callable[[OAuth2Session, str, dict[str, Any]], dict],
                *, redirect_uri: str | None) -> dict:
    """Run one token-endpoint call and map the outcome (§1.7)."""
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
        "auth": HTTPBasicAuth(client_id, secret),
        "timeout": tuple(app_settings.TIMEOUT),
        "headers": {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
            HARD_EXPIRY_HEADER: "true",
        },
    }
    try:
        return call(sess, urls["token_url"], kwargs)
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


def exchange_code(code: str, redirect_uri: str) -> dict:
    """Authorization code → token response (§1.4). redirect_uri must be the exact one
    sent to the authorize endpoint."""
    return _token_call(
        lambda s, url, kw: s.fetch_token(url, code=code, include_client_id=False, **kw),
        redirect_uri=redirect_uri,
    )


def refresh(refresh_token: str) -> dict:
    """Refresh token → token response with a rotated refresh token (§1.5)."""
    return _token_call(
        lambda s, url, kw: s.refresh_token(url, refresh_token=refresh_token, **kw),
        redirect_uri=None,
    )


def revoke(token: str) -> bool:
    """Revoke the grant the token belongs to (§1.6). Best effort: failures are logged
    (status and intuit_tid only) and reported as False."""
    try:
        client_id, secret = credentials()
        resp = requests.post(
            endpoints()["revoke_url"], json={"token": token},
            auth=HTTPBasicAuth(client_id, secret),
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


def company_name(realm_id: str, access_token: str) -> str:
    """CompanyInfo.CompanyName, read with a plain authorized GET (§2.1, §5.9); "" when
    it cannot be read (the name is for display only, so this never fails the connect)."""
    minor = effective_minor_version()
    url = f"{endpoints()['api_base']}/v3/company/{realm_id}/companyinfo/{realm_id}"
    try:
        resp = requests.get(
            url, params={"minorversion": str(minor)},
            headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            timeout=tuple(app_settings.TIMEOUT),
        )
        info = resp.json().get("CompanyInfo") if resp.status_code == 200 else None
    except (requests.RequestException, ValueError, AttributeError) as exc:
        logger.warning("Could not read CompanyInfo for realm %s: %s", realm_id,
                       type(exc).__name__)
        return ""
    if not isinstance(info, dict):
        logger.warning("Could not read CompanyInfo for realm %s: HTTP %s (intuit_tid %s)",
                       realm_id, resp.status_code, resp.headers.get("intuit_tid", ""))
        return ""
    return str(info.get("CompanyName") or info.get("LegalName") or "")
