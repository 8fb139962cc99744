"""Helpers for the Accounting API tests: call ``Accounting.handle`` directly (no HTTP)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from qbo_sync.testing.simulator.accounting import Accountant, Accounting
from qbo_sync.testing.simulator.companies import US_REALM
from qbo_sync.testing.simulator.store import ChangeEvent, Store
from qbo_sync.testing.simulator.wire import Clock, SimRequest, SimResponse

START = datetime(2026, 7, 10, 12, 0, tzinfo=UTC)


def line(amount: Any, item: str = "2", qty: Any = None, price: Any = None,
         tax: str | None = None) -> dict:
    detail: dict[str, Any] = {"ItemRef": {"value": item}}
    if qty is not None:
        detail["Qty"] = qty
    if price is not None:
        detail["UnitPrice"] = price
    if tax is not None:
        detail["TaxCodeRef"] = {"value": tax}
    return {"Amount": amount, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": detail}


class Api:
    """A Store + Accounting pair on a fixed clock, with call helpers."""

    def __init__(self, store: Store | None = None, clock: Clock | None = None) -> None:
        self.clock = clock or Clock(START)
        self.store = store or Store(self.clock)
        self.acct = Accounting(self.store)
        self.accountant = Accountant(self.store)
        self.events: list[ChangeEvent] = []
        self.store.subscribe(self.events.append)

    def call(self, method: str, path: str, query: str | dict = "", body: Any = None,
             realm: str = US_REALM, headers: dict | None = None) -> SimResponse:
        if body is None:
            raw: bytes | str = b""
        elif isinstance(body, str | bytes):
            raw = body
        else:
            raw = json.dumps(body)
        req = SimRequest.build(method, f"/v3/company/{realm}/{path}", query,
                               headers or {"Accept": "application/json"}, raw)
        return self.acct.handle(realm, path, req)

    def ok(self, method: str, path: str, query: str | dict = "", body: Any = None,
           realm: str = US_REALM) -> dict:
        resp = self.call(method, path, query, body, realm)
        assert resp.status == 200, resp.body.decode()
        return resp.parsed()

    def fault(self, code: str, method: str, path: str, query: str | dict = "",
              body: Any = None, realm: str = US_REALM, status: int = 400) -> dict:
        resp = self.call(method, path, query, body, realm)
        assert resp.status == status, resp.body.decode()
        err = resp.parsed()["Fault"]["Error"][0]
        assert err["code"] == code, err
        return err

    def customer(self, name: str, realm: str = US_REALM, **extra: Any) -> dict:
        return self.ok("POST", "customer", body={"DisplayName": name, **extra},
                       realm=realm)["Customer"]

    def invoice(self, customer_id: str, *lines: dict, realm: str = US_REALM,
                query: str = "", **extra: Any) -> dict:
        body = {"CustomerRef": {"value": customer_id}, "Line": list(lines), **extra}
        return self.ok("POST", "invoice", query, body, realm)["Invoice"]

    def pay(self, customer_id: str, total: Any, *applied: tuple[str, Any],
            realm: str = US_REALM, **extra: Any) -> dict:
        lines = [{"Amount": amt, "LinkedTxn": [{"TxnId": tid, "TxnType": "Invoice"}]}
                 for tid, amt in applied]
        body = {"CustomerRef": {"value": customer_id}, "TotalAmt": total, "Line": lines,
                **extra}
        return self.ok("POST", "payment", body=body, realm=realm)["Payment"]

    def get(self, entity: str, obj_id: str, realm: str = US_REALM) -> dict:
        return self.ok("GET", f"{entity.lower()}/{obj_id}", realm=realm)[entity]
