"""The admin screens and the API over reconciliation: start, follow, filter, repair,
ignore with a reason, export; bad input is a message, never a 500."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.test import APIClient

from example_project.billing.models import Invoice
from qbo_sync.models import Difference, ReconciliationRun, SyncJob
from tests.push.conftest import job_for, send_invoice

from .conftest import reconcile

BASE = "/api/v3/integrations/quickbooks/"
ADMIN = "/admin/qbo_sync/"


@pytest.fixture
def two_differences(qbo_simulator, connected, contact) -> ReconciliationRun:
    a = send_invoice(contact, number="INV-00001", memo="Thanks!")
    b = send_invoice(contact, number="=HYPERLINK(1)", memo="Thanks!")
    assert job_for(a).status == job_for(b).status == "succeeded"
    Invoice.objects.filter(pk=a.pk).update(status=Invoice.Status.VOID)
    link_b = job_for(b).qbo_id
    qbo_simulator.accountant.edit_invoice(connected.realm_id, link_b,
                                          {"CustomerMemo": {"value": "Edited there"}})
    run = reconcile(connected)
    assert sorted(run.counts) == ["edited", "open_in_qbo"]
    return run


@pytest.fixture
def api(admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_api_starts_follows_filters_and_repairs(api, two_differences, connected):
    resp = api.post(BASE + "reconcile", {"fix": "sometimes"}, format="json")
    assert resp.status_code == 400 and "fix" in resp.json()["errors"]
    resp = api.post(BASE + "reconcile", {"since": "2000-01-01"}, format="json")
    assert resp.status_code == 202, resp.content
    run = api.get(BASE + f"reconcile/runs/{resp.json()['id']}").json()
    assert (run["status"], run["found"], run["trigger"]) == ("done", 2, "api")
    assert run["calls_per_thousand"] is not None
    rows = api.get(BASE + f"reconcile/runs/{run['id']}/differences?kind=edited").json()
    assert rows["count"] == 1
    [edited] = rows["results"]
    assert edited["repairs"] == ["push", "accept", "ignore"]
    bad = api.get(BASE + f"reconcile/runs/{run['id']}/differences?kind=nonsense")
    assert bad.status_code == 400 and "kind" in bad.json()["errors"]
    assert api.get(BASE + "reconcile/runs/abc").status_code == 404
    url = BASE + f"reconcile/differences/{edited['id']}/repair"
    assert api.post(url, {"action": "link"}, format="json").status_code == 409
    assert api.post(url, {"action": "ignore"}, format="json").status_code == 409
    resp = api.post(url, {"action": "push"}, format="json")
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert body["difference"]["state"] == "repairing"
    assert [j["status"] for j in body["jobs"]] == ["succeeded"]
    job = SyncJob.objects.get(pk=body["jobs"][0]["id"])
    assert job.requested_by_id == api.handler._force_user.pk
    assert job.trigger == "repair"  # who, and what: a reconciliation repair
    assert api.post(url, {"action": "push"}, format="json").status_code == 409


def test_admin_run_screen_counts_and_difference_actions(admin_client, two_differences):
    run = two_differences
    page = admin_client.get(ADMIN + f"reconciliationrun/{run.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 edited in quickbooks" in text and "1 void or deleted in the app" in text
    listing = admin_client.get(ADMIN + f"difference/?run__id__exact={run.pk}&kind__exact=edited")
    assert listing.status_code == 200 and "Edited there" in listing.content.decode()
    edited = run.differences.get(kind="edited")
    # Ignore asks for a reason first, then remembers it.
    ask = admin_client.post(ADMIN + "difference/", {"action": "ignore_selected",
                                                    "_selected_action": [edited.pk]})
    assert ask.status_code == 200 and "Why (kept with the ignore)" in ask.content.decode()
    for bad in ("  ", "client\x00agreed"):  # asked again with the fix, never a 500
        again = admin_client.post(ADMIN + "difference/", {
            "action": "ignore_selected", "apply": "1", "reason": bad,
            "_selected_action": [edited.pk]})
        assert again.status_code == 200 and "errornote" in again.content.decode()
    admin_client.post(ADMIN + "difference/", {"action": "ignore_selected", "apply": "1",
                                              "reason": "client agreed",
                                              "_selected_action": [edited.pk]})
    edited.refresh_from_db()
    assert (edited.state, edited.resolution) == ("ignored", "ignored: client agreed")
    # "Repair all safe ones" voids the invoice voided in the app.
    admin_client.post(ADMIN + "difference/", {"action": "repair_safe",
                                              "_selected_action": list(run.differences
                                                                       .values_list("pk",
                                                                                    flat=True))})
    assert run.differences.get(kind="open_in_qbo").state == "repairing"
    assert reconcile(run.connection).found == 0


def test_csv_export_defuses_formulas(admin_client, two_differences):
    ids = list(two_differences.differences.values_list("pk", flat=True))
    resp = admin_client.post(ADMIN + "difference/", {"action": "export_csv",
                                                     "_selected_action": ids})
    assert resp["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(resp.content.decode())))
    assert rows[0][:3] == ["run", "kind", "label"]
    assert len(rows) == 3
    assert any(r[2] == "invoice =HYPERLINK(1)" for r in rows[1:])
    # A cell a spreadsheet would run as a formula gets an apostrophe first.
    from qbo_sync.admin.reconcile import csv_row

    cells = csv_row(Difference(run_id=1, kind="unlinked", label="=HYPERLINK(1)",
                               qbo_id="-2", explanation="@x", repairs=["link"]))
    assert cells[2:6] == ["'=HYPERLINK(1)", "'-2", "open", "'@x"]


def test_admin_action_starts_a_run(admin_client, qbo_simulator, connected, contact):
    send_invoice(contact, number="INV-00009")
    resp = admin_client.post(ADMIN + "connection/", {"action": "reconcile_now",
                                                     "_selected_action": [connected.pk]},
                             follow=True)
    assert "Reconciliation of default started" in resp.content.decode()
    run = ReconciliationRun.objects.get()
    assert (run.status, run.trigger, run.total) == ("done", "admin", 2)
    assert Difference.objects.count() == 0
