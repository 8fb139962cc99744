"""Turn QBO error responses into typed exceptions (docs/qbo-rules.md §3, §4).

QBO answers errors in several shapes, and all of them reach us:

* the JSON ``Fault`` envelope (§4.1), sometimes with lower-case keys from the gateway
  (``fault`` / ``error`` / ``message`` / ``detail``);
* XML, notably the 429 throttle body, which is XML even when JSON was asked for (§3);
* no parseable body at all (an empty 503, an HTML 502 page from a proxy).

Codes are matched, never message text, because Intuit rewords messages (§4.1).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

import requests

from ..exceptions import (
    FAULT_CODES,
    AuthenticationFailed,
    BusinessRuleError,
    NotFoundError,
    QBOSyncError,
    QBOValidationError,
    ReconnectRequired,
    ServerError,
    Throttled,
)

_REPORT = "report it to the qbo_sync maintainers with the intuit_tid shown"

#: Fixes for codes whose class-wide default is not specific enough (invariant 6).
CODE_FIXES: dict[str, str] = {
    "120": (
        "The QuickBooks user who connected no longer has access to this company. "
        "Reconnect QuickBooks as a company admin: Settings → QuickBooks → Reconnect."
    ),
    "3100": (
        "QuickBooks does not authorise this app for the company. Reconnect QuickBooks; if it "
        "keeps failing, check QBO_SYNC['ENVIRONMENT'] matches the keys (Development keys "
        "work only with 'sandbox', Production keys only with 'production')."
    ),
    "2020": f"A required field was missing from the request: {_REPORT}.",
    "2170": f"A field had a value QuickBooks does not accept: {_REPORT}.",
    "500": f"QuickBooks does not support this operation: {_REPORT}.",
    "4000": f"QuickBooks could not parse a query: {_REPORT}.",
    "4001": f"QuickBooks rejected a query: {_REPORT}.",
    "4002": "QuickBooks could not process a query. Retry later; if it persists, contact "
    "Intuit support with the intuit_tid shown.",
    "6000": "QuickBooks rejected the record for the business rule named in the detail. "
    "Correct the record in your app (or the setting in QuickBooks), then retry it from "
    "Sync Health.",
    "6070": f"A line Amount did not equal Qty × Unit price: {_REPORT}.",
}


@dataclass(frozen=True)
class FaultError:
    """One item of ``Fault.Error`` with the code normalised ("007001" → "7001")."""

    code: str
    message: str
    detail: str
    element: str


def normalize_code(code: Any) -> str:
    """Codes are strings, sometimes zero-padded ("007001"); match them without zeros."""
    text = str(code if code is not None else "").strip()
    if text.isdigit():
        return text.lstrip("0") or "0"
    return text


def ci_get(mapping: Any, *names: str, default: Any = None) -> Any:
    """Look a key up case-insensitively (gateway faults use lower-case keys, §4.1)."""
    if not isinstance(mapping, Mapping):
        return default
    wanted = {n.lower() for n in names}
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() in wanted:
            return value
    return default


# Messages like "message=AuthenticationFailed; errorCode=003200; statusCode=401".
_ERRORCODE_RE = re.compile(r"errorCode=(\d+)", re.IGNORECASE)


def _error_from_dict(item: Any) -> FaultError:
    if not isinstance(item, Mapping):
        return FaultError("", str(item or ""), "", "")
    message = str(ci_get(item, "message", default="") or "")
    detail = str(ci_get(item, "detail", default="") or "")
    code = normalize_code(ci_get(item, "code", "errorcode", default=""))
    if not code:
        found = _ERRORCODE_RE.search(f"{message} {detail}")
        code = normalize_code(found.group(1)) if found else ""
    element = str(ci_get(item, "element", default="") or "")
    return FaultError(code, message, detail, element)


def errors_from_fault(fault: Any) -> tuple[list[FaultError], str]:
    """``Fault`` object (any key case) → its errors and its ``type``."""
    if isinstance(fault, str):  # e.g. {"fault": "some text"} from a proxy
        return [FaultError("", fault, "", "")], ""
    raw = ci_get(fault, "error", "errors", default=[])
    items = raw if isinstance(raw, list) else [raw]
    errors = [_error_from_dict(i) for i in items if i]
    return errors, str(ci_get(fault, "type", default="") or "")


def _parse_json(data: Any) -> tuple[list[FaultError], str] | None:
    fault = ci_get(data, "fault")
    if fault is not None:
        errors, ftype = errors_from_fault(fault)
        return (errors, ftype) if errors else None
    # Some gateway answers have no Fault wrapper: {"error": ..., "message": ..., "code": ...}.
    if isinstance(data, Mapping) and ci_get(data, "error", "message", "code") is not None:
        err = ci_get(data, "error")
        if isinstance(err, (list, Mapping)):
            errors, ftype = errors_from_fault(data)
            return (errors, ftype) if errors else None
        item = _error_from_dict(data)
        if not item.message and isinstance(err, str):
            item = FaultError(item.code, err, item.detail, item.element)
        return [item], str(ci_get(data, "type", default="") or "")
    return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _parse_xml(text: str) -> tuple[list[FaultError], str] | None:
    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError:
        return None
    fault = root if _local(root.tag) == "fault" else None
    if fault is None:
        fault = next((el for el in root.iter() if _local(el.tag) == "fault"), None)
    if fault is None:
        return None
    errors = []
    for el in fault:
        if _local(el.tag) != "error":
            continue
        parts = {_local(child.tag): (child.text or "").strip() for child in el}
        attrs = {k.lower(): v for k, v in el.attrib.items()}
        errors.append(_error_from_dict({**parts, **attrs}))
    return (errors, fault.attrib.get("type", "")) if errors else None


def parse_body(body: bytes | str) -> tuple[list[FaultError], str] | None:
    """Errors and fault type found in a body, or None when it holds no fault."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = text.strip()
    if not text:
        return None
    if text.startswith("<"):
        return _parse_xml(text)
    try:
        return _parse_json(json.loads(text))
    except ValueError:
        return None


def class_for(code: str, status_code: int | None) -> type[QBOSyncError]:
    """Known code → its class; unknown code → its range (§4.1); no code → HTTP status."""
    if code in FAULT_CODES:
        return FAULT_CODES[code]
    if code.isdigit():
        number = int(code)
        if 2000 <= number <= 4999:
            return QBOValidationError
        if 5000 <= number <= 9999:
            return BusinessRuleError
        if number >= 10000:
            return ServerError
    return class_for_status(status_code)


def class_for_status(status_code: int | None) -> type[QBOSyncError]:
    """The fallback when a response holds no usable fault code (§4.1 status table)."""
    if status_code == 401:
        return AuthenticationFailed
    if status_code == 403:
        return ReconnectRequired
    if status_code == 404:
        return NotFoundError
    if status_code == 429:
        return Throttled
    if status_code is None or status_code >= 500:
        return ServerError
    return QBOValidationError


def build_exception(
    errors: list[FaultError],
    fault_type: str = "",
    *,
    status_code: int | None = None,
    intuit_tid: str = "",
) -> QBOSyncError:
    """The exception for a parsed fault; the first error decides the class."""
    first = errors[0] if errors else FaultError("", "", "", "")
    cls = class_for(first.code, status_code)
    message = first.message or first.detail or _status_text(status_code)
    exc = cls(
        message,
        code=first.code,
        detail=first.detail,
        element=first.element,
        status_code=status_code,
        intuit_tid=intuit_tid,
        fault_type=fault_type,
        fix=CODE_FIXES.get(first.code, ""),
    )
    # Rarely QBO sends several errors; keep them all for Sync Health.
    exc.errors = errors  # type: ignore[attr-defined]
    return exc


def exception_from_fault(
    fault: Any, *, status_code: int | None = None, intuit_tid: str = ""
) -> QBOSyncError:
    """A ``Fault`` object found inside a 200 (batch items, CDC) → its exception."""
    errors, ftype = errors_from_fault(fault)
    return build_exception(errors, ftype, status_code=status_code, intuit_tid=intuit_tid)


def exception_from_response(response: requests.Response) -> QBOSyncError:
    """Any QBO error response → a typed exception carrying code, detail and intuit_tid."""
    tid = response.headers.get("intuit_tid", "")
    status = response.status_code
    parsed = parse_body(response.content or b"")
    if parsed is not None:
        exc = build_exception(parsed[0], parsed[1], status_code=status, intuit_tid=tid)
    else:
        exc = class_for_status(status)(
            _status_text(status),
            detail=_body_hint(response),
            status_code=status,
            intuit_tid=tid,
        )
    if isinstance(exc, Throttled):
        exc.retry_after = retry_after(response.headers.get("Retry-After"))
    return exc


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (a number of seconds or an HTTP date,
    RFC 9110 §10.2.3); None when absent or unreadable. QBO does not document it
    (docs/qbo-rules.md §3), so it is honoured when sent and never required."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP date is always GMT
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN, inf
        return None
    return max(seconds, 0.0)


def _status_text(status_code: int | None) -> str:
    if status_code is None:
        return "QuickBooks returned an error"
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "error"
    return f"QuickBooks returned HTTP {status_code} ({phrase})"


_TAG_RE = re.compile(r"<[^>]+>")


def _body_hint(response: requests.Response) -> str:
    """A short, tag-free excerpt of a body we could not parse (an HTML error page)."""
    text = (response.content or b"").decode("utf-8", errors="replace")
    text = _TAG_RE.sub(" ", text)
    text = " ".join(text.split())
    return text[:200]
