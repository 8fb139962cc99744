"""Outgoing webhooks, as QBO sends them (docs/qbo-rules.md §7).

Every committed Store change becomes an event. Events are batched for ``interval``
seconds (QBO aggregates notifications; in sandbox almost in real time, §7.1) and POSTed
to ``url`` — or handed to a Python callable — signed with ``intuit-signature`` =
base64(HMAC-SHA256(verifier token, raw body)) (§7.4). Two envelopes (§7.2, §7.3):
``legacy`` (``eventNotifications``, one element per realm) and ``cloudevents`` (a JSON
array, ``Content-Type: application/cloudevents+json``).

A delivery that fails (exception or non-2xx within 3 s, §7.5) is kept and retried, and
later events wait behind it, as QBO holds events until the failing one is acknowledged.
Retries happen on the next :meth:`Webhooks.flush` or after ``retry_delay`` seconds in
the background thread (QBO's 10 s, 20 s, 30 s, … schedule is not reproduced).
``interval=None`` turns the background thread off (tests call ``flush()``).
``duplicate=True`` sends every batch twice, to test that receivers deduplicate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

#: A sink receives the raw body and the headers and returns an HTTP status.
Sink = Callable[[bytes, dict[str, str]], Any]

FORMATS = ("legacy", "cloudevents")
VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided",
         "Merge": "merged", "Emailed": "emailed"}
DELIVERY_TIMEOUT = 3.0  # QBO treats a receiver slower than 3 s as failed (§7.5)


def sign(body: bytes, verifier: str) -> str:
    """The ``intuit-signature`` value for ``body`` (docs/qbo-rules.md §7.4)."""
    digest = hmac.new(verifier.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def legacy_body(events: list[Any]) -> dict[str, Any]:
    """``eventNotifications`` envelope: one element per realm, in first-seen order."""
    by_realm: dict[str, list[dict[str, str]]] = {}
    for ev in events:
        by_realm.setdefault(ev.realm_id, []).append(
            {"name": ev.entity, "id": str(ev.id), "operation": ev.operation,
             "lastUpdated": _iso_z(ev.last_updated)}
        )
    return {"eventNotifications": [
        {"realmId": realm, "dataChangeEvent": {"entities": ents}}
        for realm, ents in by_realm.items()
    ]}


def cloudevents_body(events: list[Any]) -> list[dict[str, Any]]:
    """CloudEvents 1.0 array; ``type`` is ``qbo.<entity>.<verb>.v1`` in lower case."""
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "intuit.qbo-simulator",
            "type": f"qbo.{ev.entity.lower()}.{VERBS.get(ev.operation, ev.operation.lower())}.v1",
            "datacontenttype": "application/json",
            "time": _iso_z(ev.last_updated),
            "intuitentityid": str(ev.id),
            "intuitaccountid": ev.realm_id,
            "data": {},
        }
        for ev in events
    ]


@dataclass
class Delivery:
    """One attempt, kept for inspection (``sim.webhooks.deliveries``)."""

    body: bytes
    headers: dict[str, str]
    status: int | None
    error: str = ""
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Webhooks:
    """Collects Store change events and delivers them. Thread-safe."""

    def __init__(self, *, url: str | None = None, sink: Sink | None = None,
                 verifier: str = "simulator-verifier-token", format: str = "cloudevents",
                 interval: float | None = 0.5, retry_delay: float = 10.0,
                 duplicate: bool = False) -> None:
        self.url = url
        self.sink = sink
        self.verifier = verifier
        self.format = format
        self.interval = interval
        self.retry_delay = retry_delay
        self.duplicate = duplicate
        self.deliveries: list[Delivery] = []
        self._pending: list[Any] = []
        self._failed: tuple[bytes, dict[str, str]] | None = None
        self._failed_at = 0.0
        self._lock = threading.Lock()  # pending queue
        self._send_lock = threading.Lock()  # one delivery at a time keeps order
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def configure(self, **options: Any) -> None:
        """Change url / sink / verifier / format / interval / duplicate at run time."""
        fmt = options.get("format", self.format)
        if fmt not in FORMATS:
            raise ValueError(f"Webhook format {fmt!r}: use 'legacy' or 'cloudevents'.")
        for name, value in options.items():
            if name not in {"url", "sink", "verifier", "format", "interval", "retry_delay",
                            "duplicate"}:
                raise TypeError(f"Unknown webhook option {name!r}")
            setattr(self, name, value)

    @property
    def enabled(self) -> bool:
        return bool(self.url or self.sink)

    def on_change(self, event: Any) -> None:
        """Store subscriber: queue the event when a receiver is configured."""
        if not self.enabled:
            return  # QBO sends nothing to an app without a webhook endpoint
        with self._lock:
            self._pending.append(event)
        if self.interval is not None:
            self._ensure_thread()
            self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._pending) + (1 if self._failed else 0)

    def flush(self) -> list[Delivery]:
        """Deliver everything queued now, in this thread; returns the attempts made."""
        with self._send_lock:
            made: list[Delivery] = []
            if self._failed is not None:
                made += self._send(*self._failed)
                if not made[-1].ok:
                    return made
            with self._lock:
                events, self._pending = self._pending, []
            if events:
                body, headers = self.render(events)
                made += self._send(body, headers)
            return made

    def render(self, events: list[Any]) -> tuple[bytes, dict[str, str]]:
        """Body and headers of one delivery of ``events``."""
        if self.format == "legacy":
            payload: Any = legacy_body(events)
            ctype = "application/json"
        else:
            payload = cloudevents_body(events)
            ctype = "application/cloudevents+json"
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        return body, {"Content-Type": ctype, "intuit-signature": sign(body, self.verifier)}

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # internals --------------------------------------------------------------

    def _send(self, body: bytes, headers: dict[str, str]) -> list[Delivery]:
        made = []
        for _ in range(2 if self.duplicate else 1):
            made.append(self._post(body, headers))
            if not made[-1].ok:
                break
        if made[-1].ok:
            self._failed = None
        else:
            self._failed, self._failed_at = (body, headers), time.monotonic()
        self.deliveries.extend(made)
        return made

    def _post(self, body: bytes, headers: dict[str, str]) -> Delivery:
        try:
            if self.sink is not None:
                result = self.sink(body, dict(headers))
                status = 200 if result is None else int(getattr(result, "status_code", result))
            else:
                resp = requests.post(self.url, data=body, headers=headers,
                                     timeout=DELIVERY_TIMEOUT)
                status = resp.status_code
        except Exception as exc:  # any failure of the receiver is a failed delivery
            return Delivery(body, headers, None, error=repr(exc))
        return Delivery(body, headers, status)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._stop.clear()
                    self._thread = threading.Thread(
                        target=self._run, name="qbo-sim-webhooks", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            interval = self.interval
            if interval is None:  # switched to manual flush()
                return
            self._wake.wait(timeout=max(interval, 0.05))
            self._wake.clear()
            if self._stop.is_set():
                return
            time.sleep(interval)  # let a burst of changes land in one batch
            if self._failed is not None and (
                time.monotonic() - self._failed_at < self.retry_delay
            ):
                continue
            if self.pending():
                self.flush()
