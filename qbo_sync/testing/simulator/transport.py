"""In-process transport: ``requests`` talks to a :class:`Simulator` without a socket.

``patch_requests(sim)`` makes every ``requests.Session`` — including ones created later,
e.g. by requests-oauthlib, and the throwaway sessions behind ``requests.get`` — send URLs
under the simulator's base URL to :class:`SimulatorAdapter`. Other URLs go through the
session's normal adapters, unchanged.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from .faults import SimulatedDrop, SimulatedTimeout
from .wire import SimRequest

DEFAULT_BASE_URL = "http://qbo-simulator.test"


class SimulatorAdapter(BaseAdapter):
    """A ``requests`` transport adapter answering from ``sim.handle``.

    Injected faults become what a client of a real server sees: a timeout raises
    ``requests.exceptions.ReadTimeout``, a dropped response
    ``requests.exceptions.ConnectionError``.
    """

    def __init__(self, sim: Any) -> None:
        super().__init__()
        self.sim = sim

    def send(self, request: requests.PreparedRequest, stream: bool = False,
             timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> requests.Response:
        parts = urlsplit(request.url or "")
        sim_req = SimRequest.build(
            request.method or "GET", parts.path or "/", parts.query,
            dict(request.headers), _body_bytes(request.body),
        )
        try:
            answer = self.sim.handle(sim_req)
        except SimulatedTimeout as exc:
            raise requests.exceptions.ReadTimeout(
                f"Simulated read timeout ({exc}) for {request.url}", request=request
            ) from None
        except SimulatedDrop as exc:
            raise requests.exceptions.ConnectionError(
                f"Simulated connection reset after the server committed ({exc})",
                request=request,
            ) from None
        resp = requests.Response()
        resp.status_code = answer.status
        resp.headers = CaseInsensitiveDict(answer.headers)
        resp.headers.setdefault("Content-Length", str(len(answer.body)))
        resp.encoding = get_encoding_from_headers(resp.headers)
        resp.raw = io.BytesIO(answer.body)
        resp._content = answer.body  # already read: .content/.json() work at once
        resp._content_consumed = True
        resp.reason = _REASONS.get(answer.status, "")
        resp.url = request.url or ""
        resp.request = request
        resp.connection = self
        return resp

    def close(self) -> None:
        pass


_REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
            503: "Service Unavailable", 504: "Gateway Timeout"}


def _body_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    # An iterable of chunks (a generator body).
    return b"".join(c.encode("utf-8") if isinstance(c, str) else c for c in body)


# Session patching ---------------------------------------------------------------------

_lock = threading.Lock()
_routes: list[tuple[str, SimulatorAdapter]] = []  # (lower-cased base URL, adapter)
_original_get_adapter = None


def _routed_get_adapter(self: requests.Session, url: str) -> BaseAdapter:
    lowered = url.lower()
    for prefix, adapter in reversed(_routes):  # the latest patch wins
        if lowered == prefix or lowered.startswith(prefix + "/") or lowered.startswith(
            prefix + "?"
        ):
            return adapter
    assert _original_get_adapter is not None
    return _original_get_adapter(self, url)


@contextmanager
def patch_requests(sim: Any, base_url: str = DEFAULT_BASE_URL) -> Iterator[SimulatorAdapter]:
    """Route ``base_url`` to ``sim`` for every ``requests`` session while the block runs.

    Sets ``sim.base_url``. Patches may nest (several simulators on different base URLs).
    """
    global _original_get_adapter
    prefix = base_url.rstrip("/").lower()
    adapter = SimulatorAdapter(sim)
    entry = (prefix, adapter)
    with _lock:
        if not _routes:
            _original_get_adapter = requests.Session.get_adapter
            requests.Session.get_adapter = _routed_get_adapter  # type: ignore[method-assign]
        _routes.append(entry)
    sim.base_url = base_url.rstrip("/")
    try:
        yield adapter
    finally:
        with _lock:
            _routes.remove(entry)
            if not _routes and _original_get_adapter is not None:
                requests.Session.get_adapter = _original_get_adapter  # type: ignore[method-assign]
                _original_get_adapter = None
