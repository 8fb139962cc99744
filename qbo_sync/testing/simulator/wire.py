"""Transport-neutral request/response types and response builders shared by every
part of the simulator. Nothing here knows about HTTP servers or ``requests``."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class SimRequest:
    method: str  # upper case
    path: str  # without the query string, e.g. "/v3/company/123/invoice"
    query: dict[str, str] = field(default_factory=dict)  # last value wins
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""

    @classmethod
    def build(
        cls,
        method: str,
        path: str,
        query: str | dict[str, str] = "",
        headers: dict[str, str] | None = None,
        body: bytes | str = b"",
    ) -> SimRequest:
        if isinstance(query, str):
            query = dict(parse_qsl(query, keep_blank_values=True))
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        return cls(method.upper(), path, dict(query), hdrs, body)

    def json(self) -> Any:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        return json.loads(self.body.decode("utf-8") or "null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class SimResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None):
        hdrs = {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}
        return cls(status, json.dumps(data, default=str).encode("utf-8"), hdrs)

    @classmethod
    def html(cls, text: str, status: int = 200) -> SimResponse:
        return cls(status, text.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})

    @classmethod
    def redirect(cls, url: str) -> SimResponse:
        return cls(302, b"", {"Location": url})

    def parsed(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def new_tid() -> str:
    """An ``intuit_tid`` like the one QBO puts on every response."""
    return f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"


def qbo_time(dt: datetime) -> str:
    """QBO's timestamp form, e.g. ``2026-07-10T12:00:00.000-07:00`` (we answer in UTC)."""
    return dt.astimezone(UTC).isoformat(timespec="milliseconds")


def fault(
    code: str,
    message: str,
    detail: str = "",
    *,
    element: str = "",
    fault_type: str = "ValidationFault",
    status: int = 400,
    now: datetime | None = None,
) -> SimResponse:
    """QBO's JSON Fault envelope (docs/qbo-rules.md §4.1)."""
    body = {
        "Fault": {
            "Error": [
                {
                    "Message": message,
                    "Detail": detail or message,
                    "code": str(code),
                    "element": element,
                }
            ],
            "type": fault_type,
        },
        "time": qbo_time(now or datetime.now(UTC)),
    }
    return SimResponse.json(body, status=status, headers={"intuit_tid": new_tid()})


def throttled() -> SimResponse:
    """429 with the XML body QBO sends even when JSON was asked for (docs/qbo-rules.md §3)."""
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="'
        + qbo_time(datetime.now(UTC))
        + '"><Fault type="SERVICE"><Error code="3001">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    )
    return SimResponse(
        429, xml.encode("utf-8"), {"Content-Type": "application/xml", "intuit_tid": new_tid()}
    )


def oauth_error(error: str, description: str = "", status: int = 400) -> SimResponse:
    """Token-endpoint error shape (docs/qbo-rules.md §1.7)."""
    body: dict[str, str] = {"error": error}
    if description:
        body["error_description"] = description
    return SimResponse.json(body, status=status, headers={"intuit_tid": new_tid()})


class Clock:
    """The simulator's notion of now. Tests move it forward instead of sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta(0)
        self._fixed = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            base = self._fixed or datetime.now(UTC)
            return base + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += timedelta(seconds=seconds)
