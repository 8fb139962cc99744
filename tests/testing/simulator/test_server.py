"""The simulator as a real HTTP server: end to end with plain ``requests`` over a socket,
state surviving a restart, and the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import requests

from qbo_sync.testing.simulator import US_REALM, Simulator
from qbo_sync.testing.simulator.server import serve_in_thread


class Client:
    """The least a QBO client does: bearer token, JSON, minorversion (docs/qbo-rules.md §2)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base = f"{base_url}/v3/company/{US_REALM}"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}",
                                     "Accept": "application/json"})

    def get(self, sub: str, **params) -> requests.Response:
        return self.session.get(f"{self.base}/{sub}", params={"minorversion": "75", **params},
                                timeout=10)

    def post(self, sub: str, body: dict, **params) -> requests.Response:
        return self.session.post(f"{self.base}/{sub}", json=body,
                                 params={"minorversion": "75", **params}, timeout=10)


def test_end_to_end_over_a_socket(qbo_sim_server: Simulator) -> None:
    sim = qbo_sim_server
    assert sim.base_url.startswith("http://127.0.0.1:")
    client = Client(sim.base_url, sim.issue_tokens(US_REALM)["access_token"])

    created = client.post("customer", {"DisplayName": "Socket Customer"},
                          requestid="e2e-cust-1")
    assert created.status_code == 200, created.text
    customer = created.json()["Customer"]
    query = client.get("query", query="select * from Item where Name = 'Services'")
    item = query.json()["QueryResponse"]["Item"][0]
    line = {"DetailType": "SalesItemLineDetail", "Amount": 150.0,
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 3,
                                    "UnitPrice": 50}}
    made = client.post("invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line],
                                   "DocNumber": "E2E-1"})
    assert made.status_code == 200, made.text
    invoice = made.json()["Invoice"]

    assert client.get(f"customer/{customer['Id']}").json()["Customer"]["DisplayName"] == (
        "Socket Customer")
    read = client.get(f"invoice/{invoice['Id']}").json()["Invoice"]
    assert read["DocNumber"] == "E2E-1"
    assert Decimal(str(read["TotalAmt"])) >= Decimal("150")
    assert read["CustomerRef"]["value"] == customer["Id"]

    first = client.post("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"],
                                    "sparse": True, "PrivateNote": "first"})
    assert first.status_code == 200, first.text
    stale = client.post("invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"],
                                    "sparse": True, "PrivateNote": "second"})
    assert stale.status_code == 400
    assert stale.json()["Fault"]["Error"][0]["code"] == "5010"
    assert stale.headers["intuit_tid"]
    log = [r for r in sim.requests_log if r.method == "POST"]
    assert [r.status for r in log] == [200, 200, 200, 400]


def test_chunked_bodies_and_keep_alive(qbo_sim_server: Simulator) -> None:
    client = Client(qbo_sim_server.base_url, qbo_sim_server.issue_tokens(US_REALM)[
        "access_token"])
    body = iter([b'{"DisplayName": ', b'"Chunked"}'])
    resp = client.session.post(f"{client.base}/customer", data=body,
                               headers={"Content-Type": "application/json"}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.json()["Customer"]["DisplayName"] == "Chunked"
    # The same keep-alive session keeps working after a chunked request.
    assert client.get(f"companyinfo/{US_REALM}").status_code == 200


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim.json"
    sim = Simulator(state_file=str(state), webhook_interval=None)
    server, base = serve_in_thread(sim)
    try:
        token = sim.issue_tokens(US_REALM)["access_token"]
        client = Client(base, token)
        assert client.post("customer", {"DisplayName": "Persistent"}).status_code == 200
    finally:
        server.shutdown()
        server.server_close()
    assert state.exists()

    again = Simulator(state_file=str(state), webhook_interval=None)
    server, base = serve_in_thread(again)
    try:
        client = Client(base, token)  # the old token is still good
        found = client.get("query", query="select * from Customer where DisplayName = "
                           "'Persistent'")
        assert found.status_code == 200, found.text
        assert len(found.json()["QueryResponse"]["Customer"]) == 1
        assert client.post("customer", {"DisplayName": "Persistent"}).status_code == 400
    finally:
        server.shutdown()
        server.server_close()


def test_command_line_prints_url_realm_and_a_working_token(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qbo_sync.testing.simulator", "--port", "0",
         "--state", str(tmp_path / "state.json"), "--webhook-format", "legacy"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        base = lines[0].rsplit(" ", 1)[1].strip()
        realm = lines[1].split(":", 1)[1].strip()
        token = lines[2].split(":", 1)[1].strip()
        assert base.startswith("http://127.0.0.1:") and realm == US_REALM
        resp = requests.get(f"{base}/v3/company/{realm}/companyinfo/{realm}",
                            headers={"Authorization": f"Bearer {token}",
                                     "Accept": "application/json"}, timeout=10)
        assert resp.status_code == 200
        assert requests.get(f"{base}/_sim/webhooks", timeout=5).json()["format"] == "legacy"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
