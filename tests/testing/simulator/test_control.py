"""The JSON control plane under /_sim/, over a real socket."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from qbo_sync.testing.simulator import US_REALM, Simulator


@pytest.fixture
def sim(qbo_sim_server: Simulator) -> Simulator:
    return qbo_sim_server


def ctl(sim: Simulator, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, f"{sim.base_url}/_sim{path}", timeout=10, **kw)


def api(sim: Simulator, method: str, sub: str, token: str, **kw) -> requests.Response:
    return requests.request(method, f"{sim.base_url}/v3/company/{US_REALM}/{sub}",
                            headers={"Authorization": f"Bearer {token}",
                                     "Accept": "application/json"},
                            params={"minorversion": "75"}, timeout=10, **kw)


@pytest.fixture
def token(sim: Simulator) -> str:
    resp = ctl(sim, "POST", f"/realms/{US_REALM}/tokens")
    assert resp.status_code == 200
    assert resp.json()["expires_in"] == 3600
    return resp.json()["access_token"]


def make_invoice(sim: Simulator, token: str, amount: str = "100.00") -> dict:
    cust = api(sim, "POST", "customer", token, json={"DisplayName": f"Cust {amount}"})
    items = ctl(sim, "GET", f"/realms/{US_REALM}/records/Item").json()
    item = next(i for i in items if i["Name"] == "Services")
    line = {"DetailType": "SalesItemLineDetail", "Amount": amount,
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1,
                                    "UnitPrice": amount}}
    resp = api(sim, "POST", "invoice", token, json={
        "CustomerRef": {"value": cust.json()["Customer"]["Id"]}, "Line": [line]})
    assert resp.status_code == 200, resp.text
    return resp.json()["Invoice"]


def test_index_lists_realms_and_endpoints(sim: Simulator) -> None:
    body = ctl(sim, "GET", "/").json()
    assert US_REALM in {r["realm_id"] for r in body["realms"]}
    assert "POST /_sim/faults" in body["endpoints"]
    assert "POST /_sim/realms/{realm}/invoices/{id}/{action}" in body["endpoints"]


def test_issued_tokens_work_and_can_be_expired(sim: Simulator, token: str) -> None:
    assert api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code == 200
    assert ctl(sim, "POST", f"/realms/{US_REALM}/expire-tokens").status_code == 200
    assert api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code == 401


def test_revoke_disconnects_the_realm(sim: Simulator, token: str) -> None:
    assert ctl(sim, "POST", f"/realms/{US_REALM}/revoke").status_code == 200
    assert api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code == 401


def test_fault_rules_over_http(sim: Simulator, token: str) -> None:
    rule = ctl(sim, "POST", "/faults", json={"kind": "error", "status": 500, "times": 2}).json()
    assert rule["kind"] == "error" and rule["times"] == 2
    assert [r["id"] for r in ctl(sim, "GET", "/faults").json()] == [rule["id"]]
    assert api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code == 500
    assert ctl(sim, "DELETE", f"/faults/{rule['id']}").status_code == 200
    assert api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code == 200
    assert ctl(sim, "DELETE", f"/faults/{rule['id']}").status_code == 404
    bad = ctl(sim, "POST", "/faults", json={"kind": "explode"})
    assert bad.status_code == 400 and "Unknown fault kind" in bad.json()["error"]


def test_a_fault_with_a_probability_fires_on_that_share_of_calls(sim: Simulator,
                                                                 token: str) -> None:
    rule = ctl(sim, "POST", "/faults", json={"kind": "error", "status": 500, "times": None,
                                             "probability": 0.25, "seed": 7}).json()
    statuses = [api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code
                for _ in range(200)]
    fired = statuses.count(500)
    assert 30 <= fired <= 70 and statuses.count(200) == 200 - fired
    assert ctl(sim, "GET", "/faults").json()[0]["hits"] == fired == rule["hits"] + fired
    bad = ctl(sim, "POST", "/faults", json={"kind": "error", "probability": 1.5})
    assert bad.status_code == 400 and "between 0 and 1" in bad.json()["error"]


def test_drop_fault_over_a_socket_closes_without_answer(sim: Simulator, token: str) -> None:
    ctl(sim, "POST", "/faults", json={"kind": "drop", "entity": "customer"})
    with pytest.raises(requests.exceptions.ConnectionError):
        api(sim, "POST", "customer", token, json={"DisplayName": "Lost answer"})
    names = [c["DisplayName"] for c in ctl(sim, "GET", f"/realms/{US_REALM}/records/Customer")
             .json()]
    assert "Lost answer" in names


def test_timeout_fault_over_a_socket(sim: Simulator, token: str) -> None:
    ctl(sim, "POST", "/faults", json={"kind": "timeout", "hang": 1.0})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{sim.base_url}/v3/company/{US_REALM}/companyinfo/{US_REALM}",
                     headers={"Authorization": f"Bearer {token}"}, timeout=(2, 0.3))


def test_latency_limits_and_clock(sim: Simulator, token: str) -> None:
    assert ctl(sim, "POST", "/latency", json={"seconds": 0.05}).json() == {"seconds": 0.05}
    assert sim.latency == 0.05
    assert ctl(sim, "POST", "/latency", json={"seconds": -1}).status_code == 400
    limits = ctl(sim, "POST", "/limits", json={"per_minute": 1}).json()
    assert limits["per_minute"] == 1 and limits["concurrent"] == 10
    assert api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code == 200
    assert api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code == 429
    assert ctl(sim, "GET", f"/realms/{US_REALM}/usage").json()["last_minute"] == 1
    before = ctl(sim, "GET", "/clock").json()["now"]
    after = ctl(sim, "POST", "/clock/advance", json={"seconds": 3700}).json()["now"]
    assert after > before
    # A minute later the window is empty, an hour later the token has expired.
    assert api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code == 401


def test_request_log_filters_and_clears(sim: Simulator, token: str) -> None:
    api(sim, "GET", f"companyinfo/{US_REALM}", token)
    requests.get(f"{sim.base_url}/v3/company/{US_REALM}/preferences",
                 params={"requestid": "abc"}, timeout=5)
    log = ctl(sim, "GET", "/requests", params={"realm": US_REALM, "limit": 1}).json()
    assert len(log) == 1 and log[0]["requestid"] == "abc" and log[0]["status"] == 401
    assert ctl(sim, "DELETE", "/requests").status_code == 200
    assert ctl(sim, "GET", "/requests").json() == []


def test_records_and_accountant_actions(sim: Simulator, token: str) -> None:
    inv = make_invoice(sim, token, "80.00")
    path = f"/realms/{US_REALM}/records/Invoice/{inv['Id']}"
    assert ctl(sim, "GET", path).json()["Id"] == inv["Id"]
    paid = ctl(sim, "POST", f"/realms/{US_REALM}/invoices/{inv['Id']}/payment",
               json={"amount": "30.00", "reference": "chq 12"})
    assert paid.status_code == 200, paid.text
    assert Decimal(str(ctl(sim, "GET", path).json()["Balance"])) == Decimal("50.00")
    missing = ctl(sim, "POST", f"/realms/{US_REALM}/invoices/{inv['Id']}/payment", json={})
    assert missing.status_code == 400 and "amount" in missing.json()["error"]

    edited = ctl(sim, "POST", f"/realms/{US_REALM}/invoices/{inv['Id']}/edit",
                 json={"changes": {"PrivateNote": "edited by the accountant"}})
    assert edited.status_code == 200, edited.text
    record = ctl(sim, "GET", path).json()
    assert record["PrivateNote"] == "edited by the accountant"
    assert int(record["SyncToken"]) > int(inv["SyncToken"])
    stale = api(sim, "POST", "invoice", token, json={
        "Id": inv["Id"], "SyncToken": inv["SyncToken"], "sparse": True, "PrivateNote": "me"})
    assert stale.status_code == 400 and stale.json()["Fault"]["Error"][0]["code"] == "5010"

    bump = ctl(sim, "POST", f"{path}/bump")
    assert int(bump.json()["SyncToken"]) == int(record["SyncToken"]) + 1

    other = make_invoice(sim, token, "10.00")
    assert ctl(sim, "POST", f"/realms/{US_REALM}/invoices/{other['Id']}/void").status_code == 200
    voided = ctl(sim, "GET", f"/realms/{US_REALM}/records/Invoice/{other['Id']}").json()
    assert Decimal(str(voided["TotalAmt"])) == 0
    assert ctl(sim, "POST", f"/realms/{US_REALM}/invoices/{inv['Id']}/delete").status_code == 200
    assert ctl(sim, "GET", path).status_code == 404


def test_webhook_settings(sim: Simulator) -> None:
    body = ctl(sim, "POST", "/webhooks",
               json={"url": "http://127.0.0.1:9/hook", "format": "legacy"}).json()
    assert body["url"] == "http://127.0.0.1:9/hook" and body["format"] == "legacy"
    assert sim.webhooks.url == "http://127.0.0.1:9/hook"
    bad = ctl(sim, "POST", "/webhooks", json={"format": "xml"})
    assert bad.status_code == 400 and "legacy" in bad.json()["error"]
    assert ctl(sim, "POST", "/webhooks", json={"secret": 1}).status_code == 400


def test_errors_and_paths_are_not_confused_with_qbo(sim: Simulator, token: str) -> None:
    assert ctl(sim, "GET", "/realms/999/records/Invoice").status_code == 404
    assert "known realms" in ctl(sim, "GET", "/realms/999/records/Invoice").json()["error"]
    assert ctl(sim, "GET", "/nope").status_code == 404
    assert ctl(sim, "PUT", "/faults").status_code == 405
    assert ctl(sim, "POST", "/latency", data="{not json").status_code == 400
    assert ctl(sim, "POST", "/latency", json=[1]).status_code == 400
    # /_sim only at the root: a QBO path containing it is still a QBO path.
    resp = requests.get(f"{sim.base_url}/v3/company/_sim/faults",
                        headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert resp.status_code == 403
    assert requests.get(f"{sim.base_url}/_simulator", timeout=5).status_code == 404
    assert sim.requests_log[-1].path == "/_simulator"  # a QBO-side 404, logged


def test_reset_over_http(sim: Simulator, token: str) -> None:
    make_invoice(sim, token)
    ctl(sim, "POST", "/faults", json={"kind": "error", "times": None})
    assert ctl(sim, "POST", "/reset", json={"data": True}).status_code == 200
    assert ctl(sim, "GET", "/faults").json() == []
    assert ctl(sim, "GET", f"/realms/{US_REALM}/records/Invoice").json() == []
    # Tokens went with the data.
    assert api(sim, "GET", f"companyinfo/{US_REALM}", token).status_code == 401
