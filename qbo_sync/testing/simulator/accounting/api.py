"""The Accounting API under ``/v3/company/{realmId}/…``: routing, ``minorversion``,
``requestid`` replay and the JSON envelopes (docs/qbo-rules.md §2, §4)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from ..entities import ENTITY_PATHS, ApiError, unsupported
from ..store import Store
from ..wire import SimRequest, SimResponse, new_tid, qbo_time
from .batch import run_batch
from .cdc import run_cdc
from .ops import read, send_invoice, write
from .query import run as run_query

MINOR_VERSION = 75  # docs/qbo-rules.md §2.3: anything lower (or none) is handled as 75
MAX_REQUEST_ID = 50  # docs/qbo-rules.md §2.4


class Accounting:
    """Answers Accounting API requests against a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def handle(self, realm_id: str, sub_path: str, req: SimRequest) -> SimResponse:
        """``sub_path`` is what follows ``/v3/company/{realmId}/``."""
        store = self.store
        with store.transaction():
            now = store.clock.now()
            if not store.has_realm(realm_id):
                return ApiError("3100", "message=ApplicationAuthorizationFailed; "
                                "errorCode=003100; statusCode=403",
                                f"No company with realmId {realm_id} in the simulator.",
                                status=403, fault_type="AuthorizationFault").response(now)
            parts = [p for p in sub_path.strip("/").split("/") if p]
            request_id = self._request_id(req, parts)
            if request_id:
                cached = store.replay(realm_id, request_id)
                if cached is not None:
                    # Same requestid in the same realm: the first response, not run again.
                    return SimResponse(cached["status"], cached["body"].encode("utf-8"), {
                        "Content-Type": "application/json;charset=UTF-8",
                        "intuit_tid": new_tid()})
            try:
                self._minor_version(req)
                status, data = self._route(realm_id, parts, req)
            except ApiError as exc:
                return exc.response(now)
            if isinstance(data, SimResponse):
                return data
            data["time"] = qbo_time(now)
            resp = SimResponse(status, json.dumps(data, default=_json_default).encode("utf-8"),
                               {"Content-Type": "application/json;charset=UTF-8",
                                "intuit_tid": new_tid()})
            if request_id:
                # Only successful writes are remembered: a rejected request changed nothing,
                # so a corrected retry with the same requestid must be allowed to run.
                store.remember(realm_id, request_id, resp.status, resp.body.decode("utf-8"))
            return resp

    @staticmethod
    def _request_id(req: SimRequest, parts: list[str]) -> str | None:
        if req.method != "POST" or not parts or parts[0] == "query":
            return None
        rid = req.query.get("requestid") or None
        if rid is not None and len(rid) > MAX_REQUEST_ID:
            return None  # too long for QBO to keep; treated as absent
        return rid

    @staticmethod
    def _minor_version(req: SimRequest) -> int:
        text = req.query.get("minorversion", "")
        if text and not text.isdigit():
            raise ApiError("2010", "Request has invalid or unsupported property",
                           f"minorversion {text!r} is not a number; send minorversion=75.",
                           element="minorversion")
        return max(int(text or MINOR_VERSION), MINOR_VERSION)

    def _route(self, realm_id: str, parts: list[str], req: SimRequest
               ) -> tuple[int, dict | SimResponse]:
        store, method = self.store, req.method
        head = parts[0].lower() if parts else ""
        if head == "query" and method in ("GET", "POST") and len(parts) == 1:
            text = req.query.get("query", "") if method == "GET" else req.body.decode("utf-8")
            return 200, {"QueryResponse": run_query(store, realm_id, text)}
        if head == "batch" and method == "POST" and len(parts) == 1:
            return 200, run_batch(store, realm_id, _body(req))
        if head == "cdc" and method == "GET" and len(parts) == 1:
            return 200, run_cdc(store, realm_id, req.query)
        if head == "companyinfo" and method == "GET" and len(parts) == 2:
            return 200, read(store, realm_id, "CompanyInfo", "1" if parts[1] == realm_id
                             else parts[1])
        if head == "preferences" and method == "GET" and len(parts) == 1:
            return 200, read(store, realm_id, "Preferences", "1")
        entity = ENTITY_PATHS.get(parts[0]) if parts else None  # paths are case-sensitive
        if entity is None:
            raise unsupported(f"Unsupported path /{'/'.join(parts)}")
        if method == "GET" and len(parts) == 2:
            return 200, read(store, realm_id, entity, parts[1])
        if method == "POST" and len(parts) == 1:
            return 200, write(store, realm_id, entity, _body(req), req.query)
        if entity == "Invoice" and len(parts) == 3:
            if parts[2] == "send" and method == "POST":
                return 200, send_invoice(store, realm_id, parts[1], req.query.get("sendTo", ""))
            if parts[2] == "pdf" and method == "GET":
                read(store, realm_id, "Invoice", parts[1])
                pdf = b"%PDF-1.4\n% simulated invoice " + parts[1].encode() + b"\n%%EOF\n"
                return 200, SimResponse(200, pdf, {"Content-Type": "application/pdf",
                                                   "intuit_tid": new_tid()})
        raise unsupported(f"{method} /{'/'.join(parts)} is not supported")


def _body(req: SimRequest) -> Any:
    try:
        return json.loads(req.body.decode("utf-8") or "null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("2010", "Request has invalid or unsupported property",
                       "The request body is not valid JSON; send a JSON object with "
                       "Content-Type: application/json.") from None


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return str(value)
