"""The API's historical sync and Sync Health (sync-logs) endpoints, incl. isolation
between workspaces (docs/architecture.md, invariant 8)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from qbo_sync.models import HistoricalRun, SyncAttempt, SyncJob
from qbo_sync.testing.simulator.companies import UK_REALM

from ..support import contact, people, workspaces

BASE = "/api/v3/integrations/quickbooks/"


@pytest.fixture
def setup(qbo_connection: Any, qbo_connect: Any) -> dict[str, Any]:
    us, uk = workspaces()
    users = people(us, uk)
    uk_conn = qbo_connect(UK_REALM, workspace="uk")
    contact(us, "Ann Able")
    contact(uk, "Ulla UK")
    SyncJob.objects.all().delete()  # whatever saving the contacts queued
    return {"users": users, "us": qbo_connection, "uk": uk_conn}


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def job(conn: Any, **fields: Any) -> SyncJob:
    values = {"entity": "invoice", "action": "sync", "status": "failed", "object_id": "7"}
    return SyncJob.objects.create(connection=conn, workspace=conn.workspace,
                                  **{**values, **fields})


def test_historical_sync_dry_run_and_real(setup: dict, monkeypatch: Any,
                                          django_capture_on_commit_callbacks: Any) -> None:
    client = api(setup["users"]["admin"])
    resp = client.post(BASE + "sync/contacts", {"dry_run": True}, format="json")
    assert resp.status_code == 202
    assert (resp.json()["status"], resp.json()["queued"]) == ("done", 1)
    assert not SyncJob.objects.exists()
    monkeypatch.setattr("qbo_sync.sync.outbox.dispatch", lambda job_id: None)
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(BASE + "sync/invoices", {"since": "2026-01-01"}, format="json")
    assert resp.status_code == 202 and resp.json()["status"] == "queued"
    run_id = resp.json()["id"]
    progress = client.get(BASE + f"sync/runs/{run_id}").json()
    assert progress["status"] == "done" and progress["percent"] == 100
    # Another workspace's run is not found.
    assert api(setup["users"]["uk_admin"]).get(BASE + f"sync/runs/{run_id}").status_code == 404


def test_historical_sync_busy_and_bad_date(setup: dict) -> None:
    client = api(setup["users"]["admin"])
    HistoricalRun.objects.create(connection=setup["us"], kind="contact")
    resp = client.post(BASE + "sync/contacts", {}, format="json")
    assert resp.status_code == 409 and resp.json()["fix"]
    resp = client.post(BASE + "sync/invoices", {"since": "last year"}, format="json")
    assert resp.status_code == 400 and "since" in resp.json()["errors"]


def test_sync_logs_list_filters_and_isolation(setup: dict) -> None:
    us, uk = setup["us"], setup["uk"]
    failed = job(us, error_message="Default Item is not set: Settings → Default Item")
    job(us, status="succeeded", entity="contact", object_id="12", qbo_id="58")
    job(us, status="pending", direction="pull", action="pull_payment")
    old = job(us, status="failed")
    SyncJob.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
    job(uk, error_message="Default Item is not set")
    client = api(setup["users"]["admin"])
    body = client.get(BASE + "sync-logs").json()
    assert body["count"] == 4 and {r["id"] for r in body["results"]} >= {failed.pk}
    assert {r["id"] for r in client.get(BASE + "sync-logs?status=failed").json()["results"]} \
        == {failed.pk, old.pk}
    assert client.get(BASE + "sync-logs?entity=contact").json()["count"] == 1
    assert client.get(BASE + "sync-logs?direction=pull").json()["count"] == 1
    assert client.get(BASE + "sync-logs?action=pull_payment").json()["count"] == 1
    assert client.get(BASE + "sync-logs?search=default item").json()["count"] == 1
    assert client.get(BASE + "sync-logs?search=58").json()["count"] == 1
    assert client.get(BASE + "sync-logs?search=12").json()["count"] == 1
    since = (timezone.now() - timedelta(days=7)).date().isoformat()
    assert client.get(BASE + f"sync-logs?date_from={since}").json()["count"] == 3
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    assert [r["id"] for r in client.get(BASE + f"sync-logs?date_to={until}").json()
            ["results"]] == [old.pk]
    assert client.get(BASE + "sync-logs?date_to=soon").status_code == 400
    page = client.get(BASE + "sync-logs?page_size=3&page=2").json()
    assert page["count"] == 4 and len(page["results"]) == 1 and page["previous"]
    assert api(setup["users"]["uk_admin"]).get(BASE + "sync-logs").json()["count"] == 1


def test_sync_log_detail_masks_and_shows_attempts(setup: dict) -> None:
    failed = job(setup["us"], payload={"Invoice": {"DocNumber": "INV-1"},
                                       "access_token": "secret-value"},
                 response={"Fault": {"Error": [{"code": "2500"}]}},
                 error={"fix": "Reload the lists in Settings and choose again."})
    SyncAttempt.objects.create(job=failed, number=1, error={"code": "2500"}, intuit_tid="t-1")
    body = api(setup["users"]["manager"]).get(BASE + f"sync-logs/{failed.pk}").json()
    assert body["payload"]["Invoice"] == {"DocNumber": "INV-1"}
    assert body["payload"]["access_token"] == "***" and "secret-value" not in str(body)
    assert body["attempts_log"][0]["intuit_tid"] == "t-1"
    assert body["fix"].startswith("Reload the lists")
    # Another workspace's job: 404, for reading and for retrying.
    other = api(setup["users"]["uk_admin"])
    assert other.get(BASE + f"sync-logs/{failed.pk}").status_code == 404
    assert other.post(BASE + f"sync-logs/{failed.pk}/retry").status_code == 404
    assert SyncJob.objects.get(pk=failed.pk).status == "failed"


def test_retry(setup: dict, monkeypatch: Any) -> None:
    monkeypatch.setattr("qbo_sync.sync.outbox.dispatch", lambda job_id: None)
    client = api(setup["users"]["admin"])
    failed = job(setup["us"], attempts=5, max_attempts=5)
    resp = client.post(BASE + f"sync-logs/{failed.pk}/retry")
    assert resp.status_code == 202 and resp.json()["status"] == "pending"
    for state in ("running", "succeeded"):
        busy = job(setup["us"], status=state)
        resp = client.post(BASE + f"sync-logs/{busy.pk}/retry")
        assert resp.status_code == 409 and resp.json()["detail"] and resp.json()["fix"]


# Every input has a 4xx with a message, never a 500 (issue 13) -----------------------------


@pytest.mark.parametrize(("query", "name", "says"), [
    ("date_from=2026-02-30", "date_from", "not a day of the calendar"),
    ("date_to=9999-12-31", "date_to", "outside 1900-01-01 to 9998-12-31"),
    ("date_from=0001-01-01", "date_from", "outside"),
    ("date_to=garbage", "date_to", "not a date"),
    ("date_from=2026-03-01&date_to=2026-02-01", "date_from", "after date_to"),
    ("status=done", "status", "must be one of"),
    ("direction=sideways", "direction", "must be one of"),
    ("search=ab%00cd", "search", "NUL"),
    ("status=%00", "status", "NUL"),
    ("entity=invoice%00", "entity", "NUL"),
    ("action=%00sync", "action", "NUL"),
])
def test_sync_log_filters_refuse_bad_values_naming_them(setup: dict, query: str, name: str,
                                                        says: str) -> None:
    resp = api(setup["users"]["admin"]).get(BASE + "sync-logs?" + query)
    assert resp.status_code == 400, resp.content
    body = resp.json()
    assert name in body["detail"] and says in body["errors"][name] + body["detail"]
    assert body["fix"]


def test_sync_log_last_day_and_bad_page(setup: dict) -> None:
    job(setup["us"])
    client = api(setup["users"]["admin"])
    assert client.get(BASE + "sync-logs?date_to=9998-12-31").json()["count"] == 1
    assert client.get(BASE + "sync-logs?date_from=1900-01-01").json()["count"] == 1
    resp = client.get(BASE + "sync-logs?page=abc")
    assert resp.status_code == 404 and resp.json()["code"] == "invalid_page"
    assert "page" in resp.json()["fix"]


def test_historical_sync_garbage_body_starts_nothing(setup: dict) -> None:
    client = api(setup["users"]["admin"])
    resp = client.generic("POST", BASE + "sync/invoices", "garbage",
                          content_type="multipart/form-data; boundary=xx")
    assert resp.status_code == 400 and "no fields" in resp.json()["detail"]
    assert '"dry_run": true' in resp.json()["fix"]
    for body in ({"dry_run": ""}, {"dry_run": "maybe"}, {"dryrun": "true"}):
        resp = client.post(BASE + "sync/invoices", body)  # a form, as a browser sends it
        assert resp.status_code == 400, body
        assert set(resp.json()["errors"]) == set(body)
    resp = client.post(BASE + "sync/invoices", {"dry_run": 2}, format="json")
    assert resp.status_code == 400 and "true or false" in resp.json()["errors"]["dry_run"]
    assert not HistoricalRun.objects.exists()
    resp = client.post(BASE + "sync/invoices", {"dry_run": "on"})
    assert resp.status_code == 202 and resp.json()["dry_run"] is True
