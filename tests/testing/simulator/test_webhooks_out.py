"""Webhooks the simulator sends (docs/qbo-rules.md §7): envelopes, signature, delivery."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qbo_sync.testing.simulator import UK_REALM, US_REALM, Simulator
from qbo_sync.testing.simulator.webhooks import sign

VERIFIER = "test-verifier-token"


class Sink:
    """A callable receiver that records what it got."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.calls: list[tuple[bytes, dict[str, str]]] = []
        self.arrived = threading.Event()

    def __call__(self, body: bytes, headers: dict[str, str]) -> int:
        self.calls.append((body, headers))
        self.arrived.set()
        return self.status


def verify(body: bytes, headers: dict[str, str]) -> bool:
    expected = base64.b64encode(hmac.new(VERIFIER.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected.decode(), headers["intuit-signature"])


def make_sim(fmt: str, sink: Sink, **kw) -> Simulator:
    sim = Simulator(webhook_verifier=VERIFIER, webhook_format=fmt, webhook_interval=None)
    sim.set_webhook(sink=sink, **kw)
    return sim


def test_sign_is_base64_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"eventNotifications":[]}'
    digest = hmac.new(b"key", body, hashlib.sha256).digest()
    assert sign(body, "key") == base64.b64encode(digest).decode()
    assert sign(body, "key") != sign(body + b" ", "key")


def test_legacy_envelope_signed_and_grouped_by_realm() -> None:
    sink = Sink()
    sim = make_sim("legacy", sink)
    us = sim.accountant.add_name(US_REALM, "Vendor", "Acme Supplies")
    sim.accountant.add_name(UK_REALM, "Vendor", "Brit Supplies")
    made = sim.webhooks.flush()
    assert [d.status for d in made] == [200] and len(sink.calls) == 1
    body, headers = sink.calls[0]
    assert verify(body, headers)
    assert headers["Content-Type"] == "application/json"
    notes = json.loads(body)["eventNotifications"]
    assert [n["realmId"] for n in notes] == [US_REALM, UK_REALM]
    entity = notes[0]["dataChangeEvent"]["entities"][0]
    assert entity["name"] == "Vendor" and entity["id"] == us["Id"]
    assert entity["operation"] == "Create" and entity["lastUpdated"].endswith("Z")
    assert sim.webhooks.flush() == []  # nothing left


def test_cloudevents_envelope() -> None:
    sink = Sink()
    sim = make_sim("cloudevents", sink)
    vendor = sim.accountant.add_name(US_REALM, "Vendor", "Cloud Vendor")
    sim.bump_sync_token(US_REALM, "Vendor", vendor["Id"])
    sim.webhooks.flush()
    body, headers = sink.calls[0]
    assert verify(body, headers)
    assert headers["Content-Type"] == "application/cloudevents+json"
    events = json.loads(body)
    assert isinstance(events, list) and len(events) == 2
    created, updated = events
    assert created["specversion"] == "1.0" and uuid.UUID(created["id"])
    assert created["type"] == "qbo.vendor.created.v1"
    assert updated["type"] == "qbo.vendor.updated.v1"
    assert created["intuitentityid"] == vendor["Id"]
    assert created["intuitaccountid"] == US_REALM
    assert created["datacontenttype"] == "application/json" and created["data"] == {}
    assert created["source"] and created["time"].endswith("Z")
    assert created["id"] != updated["id"]


def test_accountant_payment_notifies_payment_and_invoice() -> None:
    sink = Sink()
    sim = make_sim("legacy", sink)
    sim.set_webhook(sink=None)  # no receiver while setting up: nothing is queued
    token = sim.issue_tokens(US_REALM)["access_token"]
    from qbo_sync.testing.simulator import SimRequest

    def post(sub: str, body: dict) -> dict:
        req = SimRequest.build("POST", f"/v3/company/{US_REALM}/{sub}", "minorversion=75",
                               {"Authorization": f"Bearer {token}",
                                "Content-Type": "application/json"}, json.dumps(body))
        resp = sim.handle(req)
        assert resp.status == 200, resp.body
        return resp.parsed()

    customer = post("customer", {"DisplayName": "Payer"})["Customer"]
    item = next(i for i in sim.store.all(US_REALM, "Item") if i["Name"] == "Services")
    invoice = post("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [
        {"DetailType": "SalesItemLineDetail", "Amount": "20.00", "SalesItemLineDetail": {
            "ItemRef": {"value": item["Id"]}, "Qty": 1, "UnitPrice": "20.00"}}]})["Invoice"]
    assert sim.webhooks.pending() == 0
    sim.set_webhook(sink=sink)
    sim.accountant.record_payment(US_REALM, invoice["Id"], Decimal("20.00"))
    sim.webhooks.flush()
    entities = json.loads(sink.calls[0][0])["eventNotifications"][0]["dataChangeEvent"][
        "entities"]
    seen = {(e["name"], e["operation"]) for e in entities}
    assert ("Payment", "Create") in seen and ("Invoice", "Update") in seen


def test_duplicate_delivery_sends_the_same_batch_twice() -> None:
    sink = Sink()
    sim = make_sim("cloudevents", sink, duplicate=True)
    sim.accountant.add_name(US_REALM, "Employee", "Dup Employee")
    sim.webhooks.flush()
    assert len(sink.calls) == 2 and sink.calls[0] == sink.calls[1]


def test_failed_delivery_is_retried_and_holds_later_events() -> None:
    sink = Sink(status=500)
    sim = make_sim("legacy", sink)
    sim.accountant.add_name(US_REALM, "Vendor", "First")
    assert [d.ok for d in sim.webhooks.flush()] == [False]
    sim.accountant.add_name(US_REALM, "Vendor", "Second")
    assert [d.ok for d in sim.webhooks.flush()] == [False]  # first one again, alone
    assert sink.calls[0][0] == sink.calls[1][0]
    sink.status = 200
    made = sim.webhooks.flush()
    assert [d.ok for d in made] == [True, True]
    assert b"Second" not in made[0].body  # ids only, never data (§7.2)
    assert sim.webhooks.pending() == 0


def test_sink_exception_counts_as_failure() -> None:
    def broken(body: bytes, headers: dict[str, str]) -> int:
        raise OSError("receiver down")

    sim = Simulator(webhook_interval=None)
    sim.set_webhook(sink=broken)
    sim.accountant.add_name(US_REALM, "Vendor", "Nobody home")
    made = sim.webhooks.flush()
    assert made[0].status is None and "receiver down" in made[0].error


def test_nothing_is_queued_without_a_receiver() -> None:
    sim = Simulator(webhook_interval=None)
    sim.accountant.add_name(US_REALM, "Vendor", "Unheard")
    assert sim.webhooks.pending() == 0 and sim.webhooks.flush() == []


def test_background_thread_batches_and_delivers() -> None:
    sink = Sink()
    sim = Simulator(webhook_verifier=VERIFIER, webhook_interval=0.05)
    sim.set_webhook(sink=sink)
    try:
        sim.accountant.add_name(US_REALM, "Vendor", "Bg One")
        sim.accountant.add_name(US_REALM, "Vendor", "Bg Two")
        assert sink.arrived.wait(timeout=3)
        assert len(json.loads(sink.calls[0][0])) == 2  # both in one batch
        assert verify(*sink.calls[0])
    finally:
        sim.close()


def test_delivery_to_a_url_over_http() -> None:
    received: list[tuple[bytes, dict[str, str]]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, {k: v for k, v in self.headers.items()}))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sim = Simulator(webhook_verifier=VERIFIER, webhook_interval=None,
                        webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook")
        sim.accountant.add_name(US_REALM, "Vendor", "Over the wire")
        assert [d.status for d in sim.webhooks.flush()] == [200]
    finally:
        server.shutdown()
        server.server_close()
    body, headers = received[0]
    assert verify(body, headers)
    assert headers["Content-Type"] == "application/cloudevents+json"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="legacy"):
        Simulator(webhook_format="xml")
