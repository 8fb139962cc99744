"""The customer import's entry points: the API (a dry run answered at once, a real one
queued, bad input a 400 naming the fix, progress by run id), the command and the
admin page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from example_project.billing.models import Contact
from qbo_sync.models import ImportRun

from .conftest import existing

URL = "/api/v3/integrations/quickbooks/"


@pytest.fixture
def api(connected) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_superuser("boss", "b@example.com", "pw"))
    return client


def test_api_dry_run_then_real_run_then_progress(api, connected, us_workspace, add):
    existing(us_workspace, display_name="Acme Ltd")
    add("Acme Ltd")
    add("New Co")
    dry = api.post(URL + "import/customers", {"dry_run": True, "match": "name"},
                   format="json")
    assert dry.status_code == 202, dry.json()
    body = dry.json()
    assert (body["status"], body["dry_run"], body["linked"], body["created"]) == (
        "done", True, 1, 1)
    assert {r["display_name"]: r["outcome"] for r in body["results"]} == {
        "Acme Ltd": "link", "New Co": "create"}
    assert not Contact.objects.filter(display_name="New Co").exists()

    real = api.post(URL + "import/customers", {"workspace": "default"}, format="json")
    assert real.status_code == 202, real.json()
    # django-q2 runs tasks inline in the tests: the queued run is done by now.
    progress = api.get(URL + f"import/runs/{real.json()['id']}").json()
    assert (progress["status"], progress["percent"], progress["created"]) == ("done", 100, 1)
    assert Contact.objects.filter(display_name="New Co").exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"match": "phone"}, "match"),
    ({"dry_run": "maybe"}, "dry_run"),
    ({"dryrun": True}, "dryrun"),
    ({"workspace": ""}, "workspace"),
])
def test_api_bad_input_is_a_400_naming_the_fix(api, body, field):
    response = api.post(URL + "import/customers", body, format="json")
    assert response.status_code == 400, response.json()
    problem = response.json()
    assert field in problem["errors"] and problem["fix"]
    assert not ImportRun.objects.exists()


def test_api_workspace_without_a_connection_is_a_409(api):
    response = api.post(URL + "import/customers", {"workspace": "elsewhere"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_connected" and response.json()["fix"]


def test_api_run_of_another_workspace_is_not_found(api, connected):
    from qbo_sync.models import Connection
    other = Connection.objects.create(workspace="other", status="connected")
    run = ImportRun.objects.create(connection=other)
    assert api.get(URL + f"import/runs/{run.pk}").status_code == 404
    assert api.get(URL + "import/runs/nope").status_code == 404


def test_command_dry_run_lists_each_customer(connected, us_workspace, add):
    existing(us_workspace, display_name="Acme Ltd", email="ap@acme.example")
    add("ACME LTD.", email="AP@acme.example")
    add("Solo")
    out = StringIO()
    call_command("qbo_sync_import_customers", "--workspace", "default", "--dry-run",
                 stdout=out, stderr=StringIO())
    text = out.getvalue()
    assert "ACME LTD.: link to contact" in text and "Solo: create a contact" in text
    assert "1 would be linked, 1 would be created" in text
    assert not Contact.objects.filter(display_name="Solo").exists()
    call_command("qbo_sync_import_customers", "--workspace", "default", "--match", "email",
                 stdout=StringIO(), stderr=StringIO())
    assert Contact.objects.filter(display_name="Solo").exists()
    with pytest.raises(CommandError, match="no QuickBooks connection"):
        call_command("qbo_sync_import_customers", "--workspace", "nope")


def test_status_api_counts_overdue_as_exact_strings(api, connected):
    body = api.get(URL + "status").json()
    assert body["overdue"] == {"count": 0, "amount": "0.00", "by_currency": {}}


ADMIN = "/admin/qbo_sync/"


def test_admin_dry_run_then_import(admin_client, connected, us_workspace, add):
    existing(us_workspace, display_name="Acme Ltd")
    add("Acme Ltd")
    add("New <b>Co</b>")
    resp = admin_client.post(ADMIN + "connection/", {"action": "import_customers_dry_run",
                                                     "_selected_action": [connected.pk]},
                             follow=True)
    page = resp.content.decode()
    assert "Dry run of the customer import of default done" in page
    assert "1 would be linked, 1 would be created" in page
    assert "New &lt;b&gt;Co&lt;/b&gt;" in page and "New <b>Co</b>" not in page  # escaped
    assert not Contact.objects.filter(display_name="New <b>Co</b>").exists()

    resp = admin_client.post(ADMIN + "connection/", {"action": "import_customers",
                                                     "_selected_action": [connected.pk]},
                             follow=True)
    assert "Customer import of default started" in resp.content.decode()
    real = ImportRun.objects.filter(dry_run=False).get()
    assert (real.status, real.trigger, real.created, real.linked) == ("done", "admin", 1, 1)
    assert admin_client.get(ADMIN + "importrun/").status_code == 200
