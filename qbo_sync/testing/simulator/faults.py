"""Fault injection rules (``Simulator.inject``, ``POST /_sim/faults``).

A rule matches requests by method, path regex, entity (first segment after
``/v3/company/{realm}/``), realm and ``operation`` query parameter, and fires for the
next ``times`` matching calls (``None``: until removed), each with ``probability``
(default 1: every matching call; 0.1 fires on about one in ten, drawn from a generator
seeded with ``seed`` when given, so a run can be repeated). Kinds:

- ``error``: answer 500 or 503 with a ``SystemFault`` body (docs/qbo-rules.md §4.1: 500 "retry
  once", 502/503/504 "retry with backoff");
- ``timeout``: the client never gets an answer. By default nothing is executed; with
  ``after_execute=True`` the call is executed first (the ambiguous case docs/architecture.md,
  invariant 2 is about);
- ``drop``: execute, then lose the response (connection reset);
- ``throttle``: answer the 429 XML body (docs/qbo-rules.md §3);
- ``expire_tokens``: expire the realm's access tokens, then let the call run (it gets
  the 401 a real expiry gives);
- ``stale``: bump the target record's SyncToken as if an accountant saved it just before
  this call, then let the call run (an update then gets 5010).

Transports turn :class:`SimulatedTimeout` and :class:`SimulatedDrop` into what a client
really sees (``requests`` exceptions, or a socket closed without an answer).
"""

from __future__ import annotations

import itertools
import random
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from .wire import SimRequest, SimResponse, fault

KINDS = ("error", "timeout", "drop", "throttle", "expire_tokens", "stale")

# Path segment → QBO entity name, for ``stale`` rules.
ENTITY_NAMES = {
    name.lower(): name
    for name in (
        "Customer", "Invoice", "Payment", "CreditMemo", "RefundReceipt", "SalesReceipt",
        "Item", "Account", "Vendor", "Employee", "TaxCode", "TaxRate", "Deposit",
    )
}


class SimulatedNetworkFailure(Exception):  # noqa: N818 - not an error of the simulator
    """Raised by ``Simulator.handle`` when the client must not get a response."""

    def __init__(self, rule: FaultRule, executed: bool) -> None:
        super().__init__(f"{rule.kind} (rule {rule.id}, executed={executed})")
        self.rule = rule
        self.executed = executed


class SimulatedTimeout(SimulatedNetworkFailure):  # noqa: N818
    """The server never answers (a read timeout on the client side)."""


class SimulatedDrop(SimulatedNetworkFailure):  # noqa: N818
    """The connection is closed without an answer (a connection error on the client)."""


_ids = itertools.count(1)


@dataclass
class FaultRule:
    """One injected fault. Create them with ``Simulator.inject``."""

    kind: str
    times: int | None = 1
    method: str | None = None
    path: str | None = None  # regex searched in the request path
    entity: str | None = None  # e.g. "invoice" (case-insensitive)
    realm: str | None = None
    operation: str | None = None  # ?operation=… e.g. "void", "delete"
    status: int = 503  # for kind="error"
    after_execute: bool = False  # for kind="timeout"
    hang: float = 2.0  # real HTTP server: seconds to hold the socket before closing it
    probability: float = 1.0  # the share of matching calls it fires on
    seed: int | None = None  # of the draws, for a repeatable run
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown fault kind {self.kind!r}; use one of {', '.join(KINDS)}.")
        if self.kind == "error" and not 500 <= int(self.status) <= 599:
            raise ValueError("An 'error' fault needs a 5xx status, e.g. status=500 or 503.")
        if self.path:
            re.compile(self.path)  # fail at injection time, not on the next request
        if not 0 <= float(self.probability) <= 1:
            raise ValueError("A fault's probability is between 0 and 1, e.g. 0.1.")
        self._draws = random.Random(self.seed)

    def fires(self) -> bool:
        """Whether this matching call is one the rule fires on."""
        return self.probability >= 1 or self._draws.random() < self.probability

    def matches(self, req: SimRequest, realm: str | None, sub_path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method.upper() != req.method:
            return False
        if self.path and not re.search(self.path, req.path):
            return False
        if self.entity and sub_path.split("/", 1)[0].lower() != self.entity.lower():
            return False
        if self.realm and self.realm != realm:
            return False
        if self.operation and req.query.get("operation", "").lower() != self.operation.lower():
            return False
        return True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # fields only: the generator is not one


class FaultBook:
    """The active rules, first match wins. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, req: SimRequest, realm: str | None, sub_path: str) -> FaultRule | None:
        """The first rule matching this request, consuming one of its ``times``."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(req, realm, sub_path) and rule.fires():
                    rule.hits += 1
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


def system_fault(status: int, now: Any = None) -> SimResponse:
    """The 5xx answer of an ``error`` rule."""
    if status == 500:
        return fault(
            "10000",
            "An application error has occurred while processing your request",
            "System Failure Error: An unexpected error occurred while accessing or saving "
            "your data. Please wait a few minutes and try again.",
            fault_type="SystemFault",
            status=500,
            now=now,
        )
    return fault(
        "10000",
        "Service Unavailable",
        "The service is temporarily unavailable. Please retry later.",
        fault_type="SystemFault",
        status=status,
        now=now,
    )


def stale_target(req: SimRequest, sub_path: str) -> tuple[str, str] | None:
    """(entity name, id) a write request targets, for ``stale`` rules."""
    segment = sub_path.split("/", 1)[0].lower()
    entity = ENTITY_NAMES.get(segment)
    if entity is None:
        return None
    try:
        body = req.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("Id"):
        return entity, str(body["Id"])
    parts = sub_path.split("/")
    return (entity, parts[1]) if len(parts) > 1 and parts[1] else None

