"""The JSON control plane under ``/_sim/…``: faults, latency, limits, clock, records,
request log, accountant actions, tokens and webhooks, for people, scripts and tests
that drive the simulator over HTTP. ``GET /_sim/`` lists the endpoints. Paths under
``/_sim`` can never be QBO paths (those start with ``/v3/``, ``/connect/``, ``/oauth2/``
or ``/v2/``).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from typing import Any

from .entities import ApiError
from .wire import SimRequest, SimResponse

_Route = tuple[str, "re.Pattern[str]", str, str]
_ROUTES: list[_Route] = [
    (m, re.compile(f"^/_sim{p}/?$"), name,
     "/_sim" + (re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", p) or "/"))
    for m, p, name in (
        ("GET", "", "index"),
        ("GET", "/realms", "realms"),
        ("GET", "/faults", "list_faults"),
        ("POST", "/faults", "add_fault"),
        ("DELETE", "/faults", "clear_faults"),
        ("DELETE", r"/faults/(?P<rule_id>\d+)", "remove_fault"),
        ("GET", "/latency", "get_latency"),
        ("POST", "/latency", "set_latency"),
        ("GET", "/limits", "get_limits"),
        ("POST", "/limits", "set_limits"),
        ("GET", "/clock", "get_clock"),
        ("POST", "/clock/advance", "advance_clock"),
        ("GET", "/requests", "list_requests"),
        ("DELETE", "/requests", "clear_requests"),
        ("POST", "/reset", "reset"),
        ("GET", "/webhooks", "get_webhooks"),
        ("POST", "/webhooks", "set_webhooks"),
        ("POST", "/webhooks/flush", "flush_webhooks"),
        ("GET", r"/realms/(?P<realm>\w+)/records/(?P<entity>\w+)", "list_records"),
        ("GET", r"/realms/(?P<realm>\w+)/records/(?P<entity>\w+)/(?P<id>[\w-]+)", "get_record"),
        ("POST", r"/realms/(?P<realm>\w+)/records/(?P<entity>\w+)/(?P<id>[\w-]+)/bump", "bump"),
        ("POST", r"/realms/(?P<realm>\w+)/tokens", "tokens"),
        ("POST", r"/realms/(?P<realm>\w+)/expire-tokens", "expire_tokens"),
        ("POST", r"/realms/(?P<realm>\w+)/revoke", "revoke"),
        ("GET", r"/realms/(?P<realm>\w+)/usage", "usage"),
        ("POST", r"/realms/(?P<realm>\w+)/invoices/(?P<id>[\w-]+)/"
                 r"(?P<action>payment|edit|void|delete)", "accountant"),
    )
]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ControlPlane:
    """JSON endpoints under ``/_sim/`` for people, scripts and out-of-process tests.
    ``GET /_sim/`` lists them. Errors answer ``{"error": "..."}``."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim

    def handle(self, req: SimRequest) -> SimResponse:
        allowed = False
        for method, pattern, name, _ in _ROUTES:
            match = pattern.match(req.path)
            if not match:
                continue
            allowed = True
            if method == req.method:
                try:
                    body = req.json() if req.body.strip() else {}
                    if not isinstance(body, dict):
                        raise ControlError(400, "The body must be a JSON object.")
                    return SimResponse.json(getattr(self, name)(req, body, **match.groupdict()))
                except ControlError as exc:
                    return SimResponse.json({"error": str(exc)}, status=exc.status)
                except ApiError as exc:  # QBO refused the accountant's action
                    return SimResponse.json({"error": str(exc), "Fault": exc.fault_body()},
                                            status=exc.status)
                except (ValueError, TypeError, LookupError, InvalidOperation) as exc:
                    return SimResponse.json({"error": str(exc) or repr(exc)}, status=400)
        if allowed:
            return SimResponse.json({"error": f"{req.method} not allowed here"}, status=405)
        return SimResponse.json({"error": f"No control endpoint {req.path}; see GET /_sim/"},
                                status=404)

    def _realm(self, realm: str) -> str:
        if not self.sim.store.has_realm(realm):
            known = ", ".join(r["realm_id"] for r in self.sim.store.realms())
            raise ControlError(404, f"Unknown realm {realm}; known realms: {known}")
        return realm

    # endpoints: (req, body, **path params) -> JSON-able ------------------------------

    def index(self, req: SimRequest, body: dict) -> Any:
        return {"realms": self.sim.store.realms(),
                "endpoints": [f"{m} {shown}" for m, _, _, shown in _ROUTES]}

    def realms(self, req: SimRequest, body: dict) -> Any:
        return self.sim.store.realms()

    def list_faults(self, req: SimRequest, body: dict) -> Any:
        return [r.as_dict() for r in self.sim.faults.rules()]

    def add_fault(self, req: SimRequest, body: dict) -> Any:
        body = {k: v for k, v in body.items() if k not in ("id", "hits")}
        return self.sim.inject(body.pop("kind", ""), **body).as_dict()

    def clear_faults(self, req: SimRequest, body: dict) -> Any:
        self.sim.faults.clear()
        return {"cleared": True}

    def remove_fault(self, req: SimRequest, body: dict, rule_id: str) -> Any:
        if not self.sim.faults.remove(int(rule_id)):
            raise ControlError(404, f"No fault rule {rule_id}")
        return {"removed": int(rule_id)}

    def get_latency(self, req: SimRequest, body: dict) -> Any:
        return {"seconds": self.sim.latency}

    def set_latency(self, req: SimRequest, body: dict) -> Any:
        seconds = float(body["seconds"])
        if seconds < 0:
            raise ControlError(400, "Latency must be zero or more seconds.")
        self.sim.latency = seconds
        return {"seconds": seconds}

    def get_limits(self, req: SimRequest, body: dict) -> Any:
        return asdict(self.sim.limits)

    def set_limits(self, req: SimRequest, body: dict) -> Any:
        for name, value in body.items():
            if name not in ("per_minute", "concurrent", "batch_per_minute"):
                raise ControlError(400, f"Unknown limit {name!r}")
            setattr(self.sim.limits, name, None if value is None else int(value))
        return asdict(self.sim.limits)

    def get_clock(self, req: SimRequest, body: dict) -> Any:
        return {"now": self.sim.clock.now().isoformat()}

    def advance_clock(self, req: SimRequest, body: dict) -> Any:
        self.sim.clock.advance(float(body["seconds"]))
        return self.get_clock(req, body)

    def list_requests(self, req: SimRequest, body: dict) -> Any:
        records = self.sim.requests_log
        if req.query.get("realm"):
            records = [r for r in records if r.realm == req.query["realm"]]
        limit = int(req.query.get("limit") or 0)
        return [r.as_dict() for r in (records[-limit:] if limit else records)]

    def clear_requests(self, req: SimRequest, body: dict) -> Any:
        self.sim.clear_log()
        return {"cleared": True}

    def reset(self, req: SimRequest, body: dict) -> Any:
        self.sim.reset(data=bool(body.get("data")))
        return {"reset": True}

    def get_webhooks(self, req: SimRequest, body: dict) -> Any:
        wh = self.sim.webhooks
        return {"url": wh.url, "format": wh.format, "interval": wh.interval,
                "duplicate": wh.duplicate, "pending": wh.pending(),
                "deliveries": [{"status": d.status, "error": d.error, "at": d.at.isoformat()}
                               for d in wh.deliveries[-50:]]}

    def set_webhooks(self, req: SimRequest, body: dict) -> Any:
        allowed = {"url", "format", "verifier", "interval", "duplicate"}
        unknown = set(body) - allowed
        if unknown:
            raise ControlError(400, f"Unknown webhook option(s) {sorted(unknown)}")
        self.sim.webhooks.configure(**body)
        return self.get_webhooks(req, {})

    def flush_webhooks(self, req: SimRequest, body: dict) -> Any:
        made = self.sim.webhooks.flush()
        return {"delivered": [{"status": d.status, "error": d.error} for d in made]}

    def list_records(self, req: SimRequest, body: dict, realm: str, entity: str) -> Any:
        return self.sim.store.all(self._realm(realm), entity)

    def get_record(self, req: SimRequest, body: dict, realm: str, entity: str, id: str) -> Any:
        record = self.sim.store.get(self._realm(realm), entity, id)
        if record is None:
            raise ControlError(404, f"No {entity} {id} in realm {realm}")
        return record

    def bump(self, req: SimRequest, body: dict, realm: str, entity: str, id: str) -> Any:
        self.get_record(req, body, realm, entity, id)
        return self.sim.bump_sync_token(realm, entity, id)

    def tokens(self, req: SimRequest, body: dict, realm: str) -> Any:
        return self.sim.issue_tokens(self._realm(realm), body.get("client_id"))

    def expire_tokens(self, req: SimRequest, body: dict, realm: str) -> Any:
        self.sim.expire_tokens(self._realm(realm))
        return {"expired": realm}

    def revoke(self, req: SimRequest, body: dict, realm: str) -> Any:
        """As if the user disconnected the app inside QuickBooks."""
        self.sim.identity.revoke_realm(self._realm(realm))
        return {"revoked": realm}

    def usage(self, req: SimRequest, body: dict, realm: str) -> Any:
        return self.sim.limiter.usage(self._realm(realm))

    def accountant(self, req: SimRequest, body: dict, realm: str, id: str, action: str) -> Any:
        """What an accountant does in the QBO UI: record a payment, edit, void, delete."""
        self.get_record(req, body, realm, "Invoice", id)
        accountant = self.sim.accountant
        if action == "payment":
            if "amount" not in body:
                raise ControlError(400, 'Give the payment amount, e.g. {"amount": "12.50"}.')
            return accountant.record_payment(
                realm, id, Decimal(str(body["amount"])), txn_date=body.get("txn_date"),
                method=body.get("method", ""), reference=body.get("reference", ""))
        if action == "edit":
            return accountant.edit_invoice(realm, id, body.get("changes", body))
        if action == "void":
            return accountant.void_invoice(realm, id)
        return accountant.delete_invoice(realm, id)
