"""In-memory company data for the simulator: one state per realm, change events, the
per-realm ``requestid`` replay cache and tombstones for CDC. Thread-safe via ``lock``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .companies import DEFAULT_COMPANIES, realm_info, seed_entities
from .entities import clone, decode_state, encode_state
from .wire import Clock, qbo_time

log = logging.getLogger(__name__)

REPLAY_LIMIT = 20_000  # requestids remembered per realm (QBO's retention is undocumented)


@dataclass(frozen=True)
class ChangeEvent:
    """One committed change, as webhooks and CDC see it (docs/qbo-rules.md §6, §7)."""

    realm_id: str
    entity: str
    id: str
    operation: str  # Create | Update | Delete | Void | Merge
    last_updated: datetime


class Store:
    """All companies' data. Hold ``lock`` (or use :meth:`transaction`) around any work."""

    def __init__(self, clock: Clock, companies: list[dict] | None = None) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._realms: dict[str, dict[str, Any]] = {}
        self._subscribers: list[Callable[[ChangeEvent], None]] = []
        self._pending: list[ChangeEvent] = []
        self._depth = 0
        for spec in DEFAULT_COMPANIES if companies is None else companies:
            self.add_company(spec)

    # ----------------------------------------------------------------- companies
    def add_company(self, spec: dict[str, Any]) -> None:
        """Create and seed a company (``realm_id``, ``name``, ``country``, …)."""
        info = realm_info(spec)
        with self.transaction():
            self._realms[info["realm_id"]] = {"info": info, "entities": {}, "counters": {},
                                              "deleted": {}, "replay": {}}
            for entity, rows in seed_entities(info).items():
                for row in rows:
                    self.save(info["realm_id"], entity, row, "Create", notify=False)

    def realms(self) -> list[dict]:
        keys = ("realm_id", "name", "country", "multicurrency", "home_currency")
        with self.lock:
            return [{k: r["info"][k] for k in keys} for r in self._realms.values()]

    def has_realm(self, realm_id: str) -> bool:
        return realm_id in self._realms

    def info(self, realm_id: str) -> dict[str, Any]:
        return self._realm(realm_id)["info"]

    def _realm(self, realm_id: str) -> dict[str, Any]:
        try:
            return self._realms[realm_id]
        except KeyError:
            raise KeyError(f"Unknown realm {realm_id!r}; known: {sorted(self._realms)}") from None

    # ----------------------------------------------------------------- events
    def subscribe(self, fn: Callable[[ChangeEvent], None]) -> None:
        """``fn`` is called after every committed change, outside the lock."""
        self._subscribers.append(fn)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock; deliver the events it produced once the outermost one ends."""
        events: list[ChangeEvent] = []
        try:
            with self.lock:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                    if self._depth == 0:
                        events, self._pending = self._pending, []
        finally:
            # Outside the lock, and even when the work failed half-way: what was
            # committed has been committed. A failing subscriber must not break the API.
            for event in events:
                for fn in list(self._subscribers):
                    try:
                        fn(event)
                    except Exception:
                        log.exception("Change subscriber %r failed for %s", fn, event)

    def _emit(self, event: ChangeEvent) -> None:
        self._pending.append(event)

    # ----------------------------------------------------------------- records
    def get(self, realm_id: str, entity: str, id: str) -> dict | None:
        """A copy of the stored record (money as Decimal), or None."""
        with self.lock:
            obj = self.raw(realm_id, entity, id)
            return clone(obj) if obj is not None else None

    def all(self, realm_id: str, entity: str) -> list[dict]:
        with self.lock:
            return clone(self.raw_all(realm_id, entity))

    def raw(self, realm_id: str, entity: str, id: str | None) -> dict | None:
        """The live record (no copy): callers inside the package only."""
        return self._realm(realm_id)["entities"].get(entity, {}).get(str(id))

    def raw_all(self, realm_id: str, entity: str) -> list[dict]:
        return list(self._realm(realm_id)["entities"].get(entity, {}).values())

    def deleted(self, realm_id: str, entity: str) -> list[dict]:
        return list(self._realm(realm_id)["deleted"].get(entity, {}).values())

    @staticmethod
    def _next_id(realm: dict[str, Any], entity: str) -> str:
        counters = realm["counters"]
        counters[entity] = counters.get(entity, 0) + 1
        return str(counters[entity])

    def save(self, realm_id: str, entity: str, obj: dict, operation: str, *,
             notify: bool = True) -> dict:
        """Commit ``obj``: assign Id on Create, bump SyncToken, stamp MetaData, emit."""
        realm = self._realm(realm_id)
        now = self.clock.now()
        stamp = qbo_time(now)
        if operation == "Create":
            if not obj.get("Id"):
                obj["Id"] = self._next_id(realm, entity)
            elif str(obj["Id"]).isdigit():  # seeded with a fixed Id: never hand it out again
                counters = realm["counters"]
                counters[entity] = max(counters.get(entity, 0), int(obj["Id"]))
            obj["SyncToken"] = "0"
            obj["MetaData"] = {"CreateTime": stamp, "LastUpdatedTime": stamp}
        else:
            obj["SyncToken"] = str(int(obj.get("SyncToken") or 0) + 1)
            obj["MetaData"] = {**(obj.get("MetaData") or {}), "LastUpdatedTime": stamp}
        obj["domain"], obj["sparse"] = "QBO", False
        realm["entities"].setdefault(entity, {})[obj["Id"]] = obj
        if notify:
            self._emit(ChangeEvent(realm_id, entity, obj["Id"], operation, now))
        return obj

    def delete(self, realm_id: str, entity: str, id: str) -> dict:
        """Remove a record and keep a tombstone for CDC (docs/qbo-rules.md §6)."""
        realm = self._realm(realm_id)
        obj = realm["entities"].get(entity, {}).pop(id)
        now = self.clock.now()
        tomb = {"status": "Deleted", "domain": "QBO", "Id": id,
                "MetaData": {"CreateTime": obj["MetaData"]["CreateTime"],
                             "LastUpdatedTime": qbo_time(now)}}
        realm["deleted"].setdefault(entity, {})[id] = tomb
        self._emit(ChangeEvent(realm_id, entity, id, "Delete", now))
        return tomb

    # ----------------------------------------------------------------- requestid
    def replay(self, realm_id: str, request_id: str) -> dict | None:
        return self._realm(realm_id)["replay"].get(request_id)

    def remember(self, realm_id: str, request_id: str, status: int, body: str) -> None:
        cache = self._realm(realm_id)["replay"]
        cache[request_id] = {"status": status, "body": body}
        while len(cache) > REPLAY_LIMIT:
            cache.pop(next(iter(cache)))

    # ----------------------------------------------------------------- accountant
    def bump_sync_token(self, realm_id: str, entity: str, id: str) -> dict:
        """As if an accountant edited and saved the record in QBO without changes."""
        with self.transaction():
            obj = self.raw(realm_id, entity, id)
            if obj is None:
                raise KeyError(f"No {entity} {id} in realm {realm_id}")
            return clone(self.save(realm_id, entity, obj, "Update"))

    # ----------------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        """All state as JSON-safe data (Decimals as strings)."""
        with self.lock:
            return {"version": 1, "realms": encode_state(self._realms)}

    @classmethod
    def from_dict(cls, data: dict, clock: Clock) -> Store:
        store = cls(clock, companies=[])
        store._realms = decode_state(data["realms"])
        return store
