"""The simulator as a whole: composes the clock, Store, Identity and Accounting and
applies the gateway rules QBO applies before a call reaches the books.

Order for ``/v3/company/{realm}/…`` (docs/qbo-rules.md §2.1, §3, §4):
unknown realm → 403/3100; per-realm throttle → 429 XML; latency (slept with no lock
held, while the call occupies one of the realm's concurrent slots); injected fault;
bearer-token check by Identity → 401; then Accounting.
Identity paths (consent page, token endpoint, revoke) get latency and faults but no
throttle. ``/_sim/…`` is the control plane (never a QBO path: QBO paths start with
``/v3/``, ``/connect/``, ``/oauth2/`` or ``/v2/``).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .accounting import Accountant, Accounting
from .control import ControlPlane
from .faults import (
    FaultBook,
    FaultRule,
    SimulatedDrop,
    SimulatedNetworkFailure,
    SimulatedTimeout,
    stale_target,
    system_fault,
)
from .identity import Identity
from .limits import Limits, RealmLimiter
from .store import Store
from .webhooks import Webhooks
from .wire import Clock, SimRequest, SimResponse, fault, throttled

logger = logging.getLogger("qbo_sync.simulator")

API_PREFIX = "/v3/company/"
CONTROL_PREFIX = "/_sim"
MAX_LOG = 20_000  # oldest request records are dropped beyond this


@dataclass
class RequestRecord:
    """One request the simulator received (control-plane calls are not recorded)."""

    method: str
    path: str
    query: dict[str, str]
    time: datetime
    realm: str | None
    status: int | None = None  # what the server produced (even if the client never saw it)
    outcome: str = "ok"  # "ok" | "timeout" | "drop"
    fault: str | None = None  # kind of the injected rule that fired, if any
    duration: float = 0.0
    intuit_tid: str = ""
    body: str = field(default="", repr=False)  # API calls only; token calls carry secrets

    @property
    def requestid(self) -> str | None:
        return self.query.get("requestid")

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "path": self.path, "query": self.query,
            "requestid": self.requestid, "time": self.time.isoformat(), "realm": self.realm,
            "status": self.status, "outcome": self.outcome, "fault": self.fault,
            "duration": round(self.duration, 4), "intuit_tid": self.intuit_tid,
            "body": self.body,
        }


class Simulator:
    """An in-memory QBO: OAuth, the Accounting API, webhooks and a control plane."""

    def __init__(self, *, clock: Clock | None = None, state_file: str | None = None,
                 latency: float = 0.0, webhook_url: str | None = None,
                 webhook_verifier: str = "simulator-verifier-token",
                 webhook_format: str = "cloudevents", webhook_interval: float | None = 0.5,
                 limits: Limits | None = None, companies: list[dict] | None = None,
                 **identity_kw: Any) -> None:
        self.clock = clock or Clock()
        self.state_file = state_file
        self.latency = float(latency)
        self.base_url = ""
        self.limiter = RealmLimiter(self.clock, limits)
        self.faults = FaultBook()
        self.webhooks = Webhooks(url=webhook_url, verifier=webhook_verifier,
                                 format=webhook_format, interval=webhook_interval)
        self.webhooks.configure(format=webhook_format)  # validates the name
        self.errors: list[str] = []  # unexpected exceptions inside the simulator
        self._companies = companies
        self._identity_kw = identity_kw
        self._log: list[RequestRecord] = []
        self._log_lock = threading.Lock()
        self._save_lock = threading.Lock()
        data = None
        if state_file and os.path.exists(state_file):
            with open(state_file, encoding="utf-8") as fh:
                data = json.load(fh)
        self._build(data)
        self.control = ControlPlane(self)

    def _build(self, data: dict | None) -> None:
        if data:
            self.store = Store.from_dict(data["store"], self.clock)
            self.identity = Identity.from_dict(data["identity"], self.clock, self.store,
                                               **self._identity_kw)
        else:
            self.store = Store(self.clock, self._companies)
            self.identity = Identity(self.clock, self.store, **self._identity_kw)
        self.accounting = Accounting(self.store)
        self.accountant = Accountant(self.store)
        self.store.subscribe(self.webhooks.on_change)

    # request handling -----------------------------------------------------------

    def handle(self, req: SimRequest) -> SimResponse:
        """Answer one request. Thread-safe. Raises :class:`SimulatedTimeout` or
        :class:`SimulatedDrop` when an injected fault says the client gets no answer."""
        if req.path == CONTROL_PREFIX or req.path.startswith(CONTROL_PREFIX + "/"):
            resp = self.control.handle(req)
            self._persist(req)
            return resp
        realm, sub_path = _split_api_path(req.path)
        is_api = realm is not None
        rec = RequestRecord(req.method, req.path, dict(req.query), self.clock.now(), realm,
                            body=req.body.decode("utf-8", "replace") if is_api else "")
        start = time.monotonic()
        try:
            resp = self._dispatch(req, realm, sub_path, rec)
            rec.status = resp.status
            rec.intuit_tid = resp.headers.get("intuit_tid", "")
        except SimulatedNetworkFailure as exc:
            rec.outcome = "timeout" if isinstance(exc, SimulatedTimeout) else "drop"
            raise
        except Exception as exc:  # a simulator bug must not look like a hung socket
            logger.exception("simulator error on %s %s", req.method, req.path)
            self.errors.append(f"{req.method} {req.path}: {exc!r}")
            resp = fault("10000", "An application error has occurred while processing "
                         "your request", f"Simulator error: {exc!r}",
                         fault_type="SystemFault", status=500)
            rec.status = 500
        finally:
            rec.duration = time.monotonic() - start
            self._record(rec)
            self._persist(req)
        return resp

    def _dispatch(self, req: SimRequest, realm: str | None, sub_path: str,
                  rec: RequestRecord) -> SimResponse:
        if realm is None:
            if not self.identity.handles(req.path):
                return fault("404", "Not Found", f"No resource at {req.path}", status=404)
            self._sleep()
            rule = self.faults.take(req, None, "")
            return self._run(rule, req, None, "", rec, lambda: self.identity.handle(req))
        if not self.store.has_realm(realm):
            # docs/qbo-rules.md §4.2: 3100, the app is not authorised for this company.
            return fault("3100", "message=ApplicationAuthorizationFailed; errorCode=003100; "
                         "statusCode=403", f"No company with realm id {realm}.",
                         fault_type="AUTHORIZATION", status=403, now=self.clock.now())
        if self.limiter.acquire(realm, batch=sub_path.split("/", 1)[0] == "batch"):
            return throttled()
        try:
            self._sleep()  # inside the slot: a slow call holds one of the 10
            rule = self.faults.take(req, realm, sub_path)
            return self._run(rule, req, realm, sub_path, rec,
                             lambda: self._api(req, realm, sub_path))
        finally:
            self.limiter.release(realm)

    def _api(self, req: SimRequest, realm: str, sub_path: str) -> SimResponse:
        denied = self.identity.authenticate(req, realm)
        if denied is not None:
            return denied
        return self.accounting.handle(realm, sub_path, req)

    def _run(self, rule: FaultRule | None, req: SimRequest, realm: str | None,
             sub_path: str, rec: RequestRecord,
             call: Callable[[], SimResponse]) -> SimResponse:
        if rule is None:
            return call()
        rec.fault = rule.kind
        if rule.kind == "error":
            return system_fault(rule.status, self.clock.now())
        if rule.kind == "throttle":
            return throttled()
        if rule.kind == "timeout" and not rule.after_execute:
            raise SimulatedTimeout(rule, executed=False)
        if rule.kind == "expire_tokens" and realm:
            self.identity.expire_access_tokens(realm)
        if rule.kind == "stale" and realm:
            target = stale_target(req, sub_path)
            if target and self.store.get(realm, *target) is not None:
                self.store.bump_sync_token(realm, *target)
        resp = call()
        rec.status = resp.status
        if rule.kind == "timeout":
            raise SimulatedTimeout(rule, executed=True)
        if rule.kind == "drop":
            raise SimulatedDrop(rule, executed=True)
        return resp

    def _sleep(self) -> None:
        if self.latency > 0:
            time.sleep(self.latency)

    def _record(self, rec: RequestRecord) -> None:
        with self._log_lock:
            self._log.append(rec)
            if len(self._log) > MAX_LOG:
                del self._log[: len(self._log) - MAX_LOG]

    # Python API for tests ------------------------------------------------------

    def inject(self, kind: str, **match: Any) -> FaultRule:
        """Add a fault rule, e.g. ``sim.inject("error", status=500, entity="invoice")``,
        ``sim.inject("timeout", method="POST", after_execute=True)``, ``times=None`` for
        every matching call. See :mod:`.faults` for the kinds."""
        return self.faults.add(FaultRule(kind, **match))

    def clear_faults(self) -> None:
        self.faults.clear()

    @property
    def requests_log(self) -> list[RequestRecord]:
        """Every request received so far (a copy), oldest first."""
        with self._log_lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    @property
    def limits(self) -> Limits:
        return self.limiter.limits

    def issue_tokens(self, realm_id: str, client_id: str | None = None) -> dict:
        """A fresh token response for ``realm_id``, as if the user had just connected."""
        return self.identity.issue_tokens(realm_id, client_id)

    def expire_tokens(self, realm_id: str) -> None:
        self.identity.expire_access_tokens(realm_id)

    def bump_sync_token(self, realm_id: str, entity: str, id: str) -> dict:
        """Edit a record behind the client's back: its SyncToken moves on."""
        return self.store.bump_sync_token(realm_id, entity, id)

    def set_webhook(self, url: str | None = None, **options: Any) -> None:
        """Where webhooks go: ``url`` or ``sink=callable(body, headers)``; also
        ``format``, ``verifier``, ``interval``, ``duplicate``."""
        self.webhooks.configure(url=url, **options)

    def reset(self, *, data: bool = False) -> None:
        """Clear faults, the request log, throttle windows and latency; with
        ``data=True`` also start from freshly seeded companies and no tokens."""
        self.faults.clear()
        self.clear_log()
        self.limiter.reset()
        self.latency = 0.0
        self.errors.clear()
        if data:
            self._build(None)

    def state(self) -> dict[str, Any]:
        """Store and Identity state, JSON-serialisable."""
        with self.store.lock:
            return {"store": self.store.to_dict(), "identity": self.identity.to_dict()}

    def save_state(self, path: str | None = None) -> None:
        """Write :meth:`state` atomically to ``path`` (default: ``state_file``)."""
        path = path or self.state_file
        if not path:
            return
        with self._save_lock:
            payload = json.dumps(self.state(), default=str)
            folder = os.path.dirname(os.path.abspath(path))
            fd, tmp = tempfile.mkstemp(prefix=".qbo-sim-", dir=folder)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
            os.replace(tmp, path)

    def _persist(self, req: SimRequest) -> None:
        if self.state_file and req.method not in ("GET", "HEAD", "OPTIONS"):
            self.save_state()

    def close(self) -> None:
        """Stop the webhook thread (after delivering what is queued, if possible)."""
        try:
            if self.webhooks.enabled and self.webhooks.pending():
                self.webhooks.flush()
        finally:
            self.webhooks.close()


def _split_api_path(path: str) -> tuple[str | None, str]:
    """``/v3/company/123/invoice/5`` → ``("123", "invoice/5")``; other paths → (None, "")."""
    if not path.startswith(API_PREFIX):
        return None, ""
    realm, _, rest = path[len(API_PREFIX):].partition("/")
    return realm, rest
