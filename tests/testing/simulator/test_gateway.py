"""Gateway rules of the simulator (docs/qbo-rules.md §2–§4), driven with plain ``requests``
through the in-process transport."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from qbo_sync.testing.simulator import UK_REALM, US_REALM, Limits, Simulator
from qbo_sync.testing.simulator.transport import patch_requests

BASE = "http://gateway.test"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(webhook_interval=None)
    with patch_requests(simulator, BASE):
        yield simulator
    simulator.close()


@pytest.fixture
def token(sim: Simulator) -> str:
    return sim.issue_tokens(US_REALM)["access_token"]


def api(method: str, sub: str, token: str, realm: str = US_REALM, **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    params = {"minorversion": "75", **kw.pop("params", {})}
    return requests.request(method, f"{BASE}/v3/company/{realm}/{sub}", headers=headers,
                            params=params, timeout=10, **kw)


def info(token: str, realm: str = US_REALM) -> requests.Response:
    return api("GET", f"companyinfo/{realm}", token, realm)


def create_customer(token: str, name: str, **kw) -> requests.Response:
    return api("POST", "customer", token, json={"DisplayName": name}, **kw)


def customers_named(sim: Simulator, name: str) -> list[dict]:
    return [c for c in sim.store.all(US_REALM, "Customer") if c["DisplayName"] == name]


def error_code(resp: requests.Response) -> str:
    data = resp.json()
    fault = data.get("Fault") or data.get("fault")
    errors = fault.get("Error") or fault.get("error")
    return errors[0]["code"]


# routing, realm and authentication -------------------------------------------------


def test_authorised_call_reaches_accounting_and_is_logged(sim: Simulator, token: str) -> None:
    resp = api("GET", f"companyinfo/{US_REALM}", token, params={"requestid": "r-1"})
    assert resp.status_code == 200
    assert resp.json()["CompanyInfo"]["CompanyName"]
    rec = sim.requests_log[-1]
    assert (rec.method, rec.realm, rec.status, rec.outcome) == ("GET", US_REALM, 200, "ok")
    assert rec.path == f"/v3/company/{US_REALM}/companyinfo/{US_REALM}"
    assert rec.requestid == "r-1" and rec.query["minorversion"] == "75"
    assert 0 <= (sim.clock.now() - rec.time).total_seconds() < 5


def test_unknown_realm_is_403_3100(sim: Simulator, token: str) -> None:
    resp = info(token, realm="1234")
    assert resp.status_code == 403
    assert error_code(resp) == "3100"


def test_auth_failures_come_from_identity(sim: Simulator, token: str) -> None:
    assert info("not-a-token").status_code == 401
    assert error_code(info("not-a-token")) == "3200"
    no_header = requests.get(f"{BASE}/v3/company/{US_REALM}/companyinfo/{US_REALM}", timeout=5)
    assert no_header.status_code == 401
    # A token for one company does not open another (docs/qbo-rules.md §2.1).
    assert info(token, realm=UK_REALM).status_code == 401


def test_access_token_expires_with_the_clock_and_on_demand(sim: Simulator, token: str) -> None:
    assert info(token).status_code == 200
    sim.clock.advance(3601)  # docs/qbo-rules.md §1.5: access tokens live one hour
    assert info(token).status_code == 401
    fresh = sim.issue_tokens(US_REALM)["access_token"]
    assert info(fresh).status_code == 200
    sim.expire_tokens(US_REALM)
    assert info(fresh).status_code == 401


def test_unknown_paths_are_404_and_not_recorded_as_api(sim: Simulator) -> None:
    resp = requests.get(f"{BASE}/nothing/here", timeout=5)
    assert resp.status_code == 404
    assert sim.requests_log[-1].realm is None


def test_internal_error_becomes_500_and_is_kept(sim: Simulator, token: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sim.accounting, "handle", broken)
    resp = info(token)
    assert resp.status_code == 500 and error_code(resp) == "10000"
    assert "boom" in sim.errors[-1]


# throttling (docs/qbo-rules.md §3) --------------------------------------------------------


def test_per_minute_limit_is_a_sliding_window_per_realm(token: str) -> None:
    sim = Simulator(limits=Limits(per_minute=5), webhook_interval=None)
    with patch_requests(sim, BASE):
        us = sim.issue_tokens(US_REALM)["access_token"]
        uk = sim.issue_tokens(UK_REALM)["access_token"]
        assert [info(us).status_code for _ in range(5)] == [200] * 5
        throttled = info(us)
        assert throttled.status_code == 429
        assert throttled.headers["Content-Type"].startswith("application/xml")
        assert 'code="3001"' in throttled.text and "ThrottleExceeded" in throttled.text
        assert info(uk, UK_REALM).status_code == 200  # other realms have their own budget
        sim.clock.advance(61)
        assert info(us).status_code == 200


def test_default_limits_match_qbo() -> None:
    limits = Limits()
    assert (limits.per_minute, limits.concurrent, limits.batch_per_minute) == (500, 10, 40)


def test_batch_calls_have_their_own_per_minute_budget(sim: Simulator, token: str) -> None:
    sim.limits.batch_per_minute = 2
    body = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Customer"}]}
    statuses = [api("POST", "batch", token, json=body).status_code for _ in range(3)]
    assert statuses[:2] != [429, 429] and 429 not in statuses[:2]
    assert statuses[2] == 429
    assert info(token).status_code == 200  # plain calls are not batch calls


def test_ten_calls_in_flight_per_realm(sim: Simulator, token: str) -> None:
    sim.latency = 0.8  # every call holds its slot this long
    n = 14
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        status = info(token).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(n)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert time.monotonic() - start < 5
    assert sorted(statuses) == [200] * 10 + [429] * 4
    sim.latency = 0
    assert info(token).status_code == 200  # the slots were given back
    assert sim.limiter.usage(US_REALM)["in_flight"] == 0


def test_latency_is_added_to_every_call(sim: Simulator, token: str) -> None:
    sim.latency = 0.2
    start = time.monotonic()
    assert info(token).status_code == 200
    assert time.monotonic() - start >= 0.2


# injected faults, seen through plain requests -------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_error_fault_answers_system_fault_then_recovers(sim: Simulator, token: str,
                                                        status: int) -> None:
    sim.inject("error", status=status, entity="companyinfo")
    resp = info(token)
    assert resp.status_code == status
    assert resp.json()["Fault"]["type"] == "SystemFault"
    assert info(token).status_code == 200  # times=1 by default
    assert [r.fault for r in sim.requests_log[-2:]] == ["error", None]


def test_rules_match_by_method_entity_operation_path_and_realm(sim: Simulator,
                                                               token: str) -> None:
    rule = sim.inject("error", entity="customer", method="POST", times=None)
    assert info(token).status_code == 200
    assert create_customer(token, "A").status_code == 503
    assert create_customer(token, "B").status_code == 503
    sim.faults.remove(rule.id)
    assert create_customer(token, "C").status_code == 200
    sim.inject("error", operation="delete", realm=US_REALM)
    assert create_customer(token, "D").status_code == 200
    sim.clear_faults()
    sim.inject("error", path=r"/companyinfo/\d+$", realm=UK_REALM)
    assert info(token).status_code == 200  # other realm


def test_timeout_without_executing(sim: Simulator, token: str) -> None:
    sim.inject("timeout", entity="customer")
    with pytest.raises(requests.exceptions.ReadTimeout):
        create_customer(token, "Ghost")
    assert customers_named(sim, "Ghost") == []
    assert sim.requests_log[-1].outcome == "timeout"
    assert create_customer(token, "Ghost").status_code == 200


def test_timeout_after_executing_leaves_the_record(sim: Simulator, token: str) -> None:
    sim.inject("timeout", entity="customer", after_execute=True)
    with pytest.raises(requests.exceptions.Timeout):
        create_customer(token, "Committed")
    assert len(customers_named(sim, "Committed")) == 1


def test_dropped_response_after_commit(sim: Simulator, token: str) -> None:
    sim.inject("drop", method="POST")
    with pytest.raises(requests.exceptions.ConnectionError):
        create_customer(token, "Dropped", params={"requestid": "drop-1"})
    assert len(customers_named(sim, "Dropped")) == 1
    rec = sim.requests_log[-1]
    assert (rec.outcome, rec.status, rec.requestid) == ("drop", 200, "drop-1")


def test_throttle_fault(sim: Simulator, token: str) -> None:
    sim.inject("throttle")
    resp = info(token)
    assert resp.status_code == 429 and "ThrottleExceeded" in resp.text


def test_expire_tokens_fault(sim: Simulator, token: str) -> None:
    sim.inject("expire_tokens", entity="companyinfo")
    assert info(token).status_code == 401
    assert info(token).status_code == 401  # the token stays expired


def test_stale_fault_gives_5010_on_update(sim: Simulator, token: str) -> None:
    created = create_customer(token, "Racy").json()["Customer"]
    sim.inject("stale", entity="customer", method="POST")
    update = {"Id": created["Id"], "SyncToken": created["SyncToken"], "sparse": True,
              "CompanyName": "Racy Ltd"}
    resp = api("POST", "customer", token, json=update)
    assert resp.status_code == 400 and error_code(resp) == "5010"


def test_bump_sync_token_makes_the_next_update_stale(sim: Simulator, token: str) -> None:
    created = create_customer(token, "Edited").json()["Customer"]
    bumped = sim.bump_sync_token(US_REALM, "Customer", created["Id"])
    assert int(bumped["SyncToken"]) == int(created["SyncToken"]) + 1
    update = {"Id": created["Id"], "SyncToken": created["SyncToken"], "sparse": True,
              "CompanyName": "x"}
    assert error_code(api("POST", "customer", token, json=update)) == "5010"


def test_faults_also_apply_to_the_token_endpoint(sim: Simulator) -> None:
    tokens = sim.issue_tokens(US_REALM)
    sim.inject("error", path=r"^/oauth2/v1/tokens/bearer$", status=503)
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = ("simulator-client-id", "simulator-client-secret")
    url = f"{BASE}/oauth2/v1/tokens/bearer"
    assert requests.post(url, data=form, auth=auth, timeout=5).status_code == 503
    ok = requests.post(url, data=form, auth=auth, timeout=5)
    assert ok.status_code == 200 and ok.json()["access_token"]


def test_bad_rules_are_refused() -> None:
    sim = Simulator(webhook_interval=None)
    with pytest.raises(ValueError, match="Unknown fault kind"):
        sim.inject("explode")
    with pytest.raises(ValueError, match="5xx"):
        sim.inject("error", status=200)


def test_reset_clears_faults_log_and_windows(sim: Simulator, token: str) -> None:
    sim.limits.per_minute = 1
    assert info(token).status_code == 200
    sim.inject("error", times=None)
    sim.latency = 0.1
    sim.reset()
    assert sim.faults.rules() == [] and sim.latency == 0
    assert info(token).status_code == 200
    assert len(sim.requests_log) == 1
