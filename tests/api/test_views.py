"""The QuickBooks REST API: connect, status, settings, lists, mappings, permissions and
the OpenAPI schema. Workspaces and roles come from the example product."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from qbo_sync.models import Connection, ItemMapping, OAuthState, SettingsChange
from qbo_sync.testing.simulator.companies import UK_REALM, US_REALM

from ..oauth_sim import click_through, query
from ..support import people, workspaces

BASE = "/api/v3/integrations/quickbooks/"


@pytest.fixture
def users(db: Any) -> dict[str, Any]:
    return people(*workspaces())


def api(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def admin(users: dict) -> APIClient:
    return api(users["admin"])


def test_connect_and_callback_flow(users: dict, qbo_simulator: Any) -> None:
    client = api(users["manager"])
    resp = client.get(BASE + "connect")
    assert resp.status_code == 200
    url = resp.json()["authorize_url"]
    assert url.startswith(qbo_simulator.base_url + "/connect/oauth2?")
    assert OAuthState.objects.get(state=query(url)["state"]).workspace == "default"
    back = query(click_through(url, realm=US_REALM))
    # Intuit's parameter is realmId; realm_id is refused before the state is spent.
    resp = client.post(BASE + "callback", {"code": back["code"], "state": back["state"],
                                           "realm_id": back["realmId"]}, format="json")
    assert resp.status_code == 400
    assert "realmId" in resp.json()["errors"]["realmId"] and resp.json()["fix"]
    resp = client.post(BASE + "callback", back, format="json")
    assert resp.status_code == 200, resp.json()
    assert resp.json()["status"] == "connected" and resp.json()["realm_id"] == US_REALM
    # The same callback again: a message and a fix, never a traceback.
    again = client.post(BASE + "callback", back, format="json")
    assert again.status_code == 400 and again.json()["detail"] and again.json()["fix"]
    conn = Connection.objects.get()
    assert conn.access_token and conn.access_token not in str(resp.json())
    assert conn.refresh_token not in str(resp.json())


def test_callback_for_another_workspace_is_refused(users: dict, qbo_simulator: Any) -> None:
    url = api(users["admin"]).get(BASE + "connect").json()["authorize_url"]
    back = query(click_through(url, realm=UK_REALM))
    resp = api(users["uk_admin"]).post(BASE + "callback", back, format="json")
    assert resp.status_code == 403
    assert not Connection.objects.exists()


def test_status_and_disconnect(users: dict, qbo_connection: Any, admin: APIClient) -> None:
    body = admin.get(BASE + "status").json()
    assert body["status"] == "connected" and body["company"] == "Simulated US Company"
    assert body["tokens"]["hard_expires_in_days"] > 365
    assert body["missing_required"] == ["Default Item", "Default Deposit Account"]
    assert qbo_connection.refresh_token not in str(body)
    resp = admin.post(BASE + "disconnect")
    assert resp.status_code == 200 and resp.json()["status"] == "disconnected"
    assert Connection.objects.get().refresh_token == ""
    # The UK workspace never connected.
    assert api(users["uk_admin"]).get(BASE + "status").json()["status"] == "not_connected"
    assert api(users["uk_admin"]).post(BASE + "disconnect").status_code == 409


def test_settings_get_and_patch(users: dict, qbo_connection: Any, admin: APIClient) -> None:
    body = admin.get(BASE + "settings").json()
    assert body["default_item_id"] == "" and "Default Item" in body["missing_required"]
    assert not any("token" in key for key in body)
    resp = admin.patch(BASE + "settings", {"default_item_id": "2",
                                           "default_deposit_account_id": "1"}, format="json")
    assert resp.status_code == 200
    assert resp.json()["default_item_name"] == "Design" and resp.json()["missing_required"] == []
    assert SettingsChange.objects.filter(user=users["admin"]).count() == 2
    bad = admin.patch(BASE + "settings", {"default_item_id": "404", "minor_version": 74},
                      format="json")
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"minor_version"}  # rejected by the serializer first
    bad = admin.patch(BASE + "settings", {"default_item_id": "404"}, format="json")
    assert bad.status_code == 400 and "404" in bad.json()["errors"]["default_item_id"]
    assert bad.json()["fix"]
    assert Connection.objects.get().default_item_id == "2"


def test_lists(users: dict, qbo_connection: Any, admin: APIClient, qbo_simulator: Any) -> None:
    items = admin.get(BASE + "items").json()
    assert {"id": "2", "name": "Design", "type": "Service"} in items["results"]
    codes = admin.get(BASE + "tax-codes").json()["results"]
    assert [c["id"] for c in codes][:2] == ["TAX", "NON"]
    deposit = admin.get(BASE + "accounts?purpose=deposit").json()["results"]
    assert [a["name"] for a in deposit] == ["Undeposited Funds", "Checking"]
    assert len(admin.get(BASE + "accounts").json()["results"]) == 6
    calls = len(qbo_simulator.requests_log)
    admin.get(BASE + "items")
    assert len(qbo_simulator.requests_log) == calls  # cached
    admin.get(BASE + "items?refresh=1")
    assert len(qbo_simulator.requests_log) > calls


def test_lists_need_a_connection(users: dict, qbo_simulator: Any) -> None:
    resp = api(users["uk_admin"]).get(BASE + "items")
    assert resp.status_code == 409 and "Connect" in resp.json()["fix"]


def test_lists_when_quickbooks_needs_reconnect(users: dict, qbo_connection: Any,
                                               admin: APIClient, qbo_simulator: Any) -> None:
    Connection.objects.filter(pk=qbo_connection.pk).update(access_token="bogus",
                                                           refresh_token="bogus")
    resp = admin.get(BASE + "items")
    assert resp.status_code == 409 and "Reconnect" in resp.json()["fix"]


def test_item_and_tax_mappings(users: dict, qbo_connection: Any, admin: APIClient) -> None:
    resp = admin.put(BASE + "mappings/items", {"design": "2", "development": "3"},
                     format="json")
    assert resp.status_code == 200
    assert resp.json()["created"] == ["design", "development"]
    assert admin.get(BASE + "mappings/items").json() == {
        "mappings": {"design": "2", "development": "3"}}
    bad = admin.put(BASE + "mappings/items", {"mappings": {"design": "3", "support": "99"}},
                    format="json")
    assert bad.status_code == 400 and "99" in bad.json()["detail"]
    assert ItemMapping.objects.get(category="design").item_id == "2"  # nothing half-done
    resp = admin.put(BASE + "mappings/items", {"mappings": {"design": "4"}}, format="json")
    assert resp.json()["deleted"] == ["development"] and resp.json()["updated"] == ["design"]
    resp = admin.put(BASE + "mappings/taxes", {"8.25": "TAX", "0.00": "NON"}, format="json")
    assert resp.status_code == 200
    assert admin.get(BASE + "mappings/taxes").json()["mappings"] == {"0.00": "NON",
                                                                     "8.25": "TAX"}


ENDPOINTS = [
    ("get", "connect"), ("post", "callback"), ("get", "status"), ("post", "disconnect"),
    ("get", "settings"), ("patch", "settings"), ("get", "items"), ("get", "tax-codes"),
    ("get", "accounts"), ("get", "mappings/items"), ("put", "mappings/items"),
    ("get", "mappings/taxes"), ("put", "mappings/taxes"), ("post", "sync/contacts"),
    ("post", "sync/invoices"), ("get", "sync/runs/1"), ("get", "sync-logs"),
    ("get", "sync-logs/1"), ("post", "sync-logs/1/retry"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_members_and_anonymous_are_refused(users: dict, qbo_connection: Any, method: str,
                                           path: str) -> None:
    for client in (api(), api(users["member"])):
        resp = getattr(client, method)(BASE + path, {}, format="json")
        assert resp.status_code in (401, 403), (path, resp.status_code)
    assert not SettingsChange.objects.exists()


def test_member_cannot_pick_a_workspace_to_manage(users: dict, qbo_connection: Any) -> None:
    # The member belongs to "default" but only as member: selecting it does not help.
    resp = api(users["member"]).get(BASE + "status?workspace=default")
    assert resp.status_code == 403
    # The UK admin asking for the US workspace is refused, with the reason: never
    # answered from another workspace (issue 13).
    resp = api(users["uk_admin"]).get(BASE + "status?workspace=default")
    assert resp.status_code == 403
    assert "not a member of workspace 'default'" in resp.json()["detail"]
    assert "workspace" not in resp.json()


def test_workspace_selection_by_query(users: dict, qbo_connect: Any) -> None:
    qbo_connect(UK_REALM, workspace="uk")
    from example_project.billing.models import Membership, Workspace

    Membership.objects.create(user=users["admin"], workspace=Workspace.objects.get(slug="uk"),
                              role="manager")
    client = api(users["admin"])
    assert client.get(BASE + "status").json()["workspace"] == "default"
    assert client.get(BASE + "status?workspace=uk").json()["realm_id"] == UK_REALM


def test_schema_generates_without_warnings(tmp_path: Any) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in ("connect", "callback", "sync-logs/{id}/retry", "mappings/taxes"):
        assert f"/api/v3/integrations/quickbooks/{path}:" in text
    assert "Error:" in text  # the error body every endpoint documents
    assert "refresh_token:" not in text and "access_token:" not in text


# Every input has a 4xx with a message, never a 500 (issue 13) -----------------------------


def _put(client: APIClient, path: str, raw: str) -> Any:
    return client.generic("PUT", BASE + path, raw, content_type="application/json")


def test_a_mappings_put_needs_a_json_object(users: dict, qbo_connection: Any,
                                            admin: APIClient) -> None:
    assert admin.put(BASE + "mappings/items", {"design": "2"}, format="json").status_code == 200
    for raw in ('["design"]', '"design"', "5", "null", "true"):
        resp = _put(admin, "mappings/items", raw)
        assert resp.status_code == 400, raw
        assert "JSON object" in resp.json()["detail"] and '{"design": "21"}' in resp.json()["fix"]
    # No body at all is not "replace the mappings with nothing".
    resp = _put(admin, "mappings/items", "")
    assert resp.status_code == 400 and "no body" in resp.json()["detail"]
    assert "send {} to remove every mapping" in resp.json()["fix"]
    assert list(ItemMapping.objects.values_list("category", flat=True)) == ["design"]
    # Unreadable and too deeply nested JSON: the problem format, with a fix.
    for raw in ("{not json", "[" * 100_000 + "]" * 100_000):
        resp = _put(admin, "mappings/items", raw)
        assert resp.status_code == 400 and resp.json()["code"] == "parse_error"
        assert "Content-Type: application/json" in resp.json()["fix"]
    # A value that is not an id names the key it belongs to.
    resp = admin.put(BASE + "mappings/items", {"design": {"id": "2"}}, format="json")
    assert resp.status_code == 400
    assert resp.json()["errors"] == {"mappings.design": "Not a valid string."}
    # An explicit empty object still removes every mapping.
    resp = admin.put(BASE + "mappings/items", {}, format="json")
    assert resp.status_code == 200 and resp.json()["deleted"] == ["design"]


def test_mapping_keys_too_long_or_with_nul_are_refused(users: dict, qbo_connection: Any,
                                                       admin: APIClient) -> None:
    limit = ItemMapping._meta.get_field("category").max_length
    resp = admin.put(BASE + "mappings/items", {"x" * (limit + 1): "2"}, format="json")
    assert resp.status_code == 400
    assert f"at most {limit}" in resp.json()["detail"] and "category" in resp.json()["errors"]
    assert f"Shorten the category to {limit} characters" in resp.json()["fix"]
    resp = admin.put(BASE + "mappings/taxes", {"de\x00sign": "TAX"}, format="json")
    assert resp.status_code == 400 and "NUL" in resp.json()["detail"]
    assert not ItemMapping.objects.exists()
    # A key right at the limit fits, its audit row too (on PostgreSQL as well).
    resp = admin.put(BASE + "mappings/items", {"x" * limit: "2"}, format="json")
    assert resp.status_code == 200, resp.json()
    assert SettingsChange.objects.get().field.startswith("item_mapping:xxx")


def test_tax_mapping_keys_are_rates_or_names(users: dict, qbo_connection: Any,
                                             admin: APIClient) -> None:
    resp = admin.put(BASE + "mappings/taxes", {"8.250": "TAX", "Exempt": "NON"},
                     format="json")
    assert resp.status_code == 200
    assert resp.json()["mappings"] == {"8.25": "TAX", "Exempt": "NON"}
    resp = admin.put(BASE + "mappings/taxes", {"8,25": "TAX"}, format="json")
    assert resp.status_code == 400 and "neither a rate" in resp.json()["detail"]
    assert resp.json()["errors"] == {"tax_rate": resp.json()["detail"]}


def test_minor_version_has_an_upper_bound(users: dict, qbo_connection: Any,
                                          admin: APIClient) -> None:
    for value in (10**20, 2**31, 1000):
        resp = admin.patch(BASE + "settings", {"minor_version": value}, format="json")
        assert resp.status_code == 400, value
        assert "999 or lower" in resp.json()["errors"]["minor_version"]
    assert admin.patch(BASE + "settings", {"minor_version": 999},
                       format="json").status_code == 200
    assert Connection.objects.get().minor_version == 999


def test_a_callback_state_with_nul_never_reaches_the_database(
        users: dict, qbo_simulator: Any) -> None:
    from django.db import connection

    sent: list[Any] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        sent.extend(params or ())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        resp = api(users["admin"]).post(BASE + "callback", {
            "state": "abc\x00def", "code": "x", "realmId": "1"}, format="json")
    assert resp.status_code == 400 and "state" in resp.json()["errors"]
    # PostgreSQL raises on such a parameter; SQLite would quietly compare it.
    assert not [p for p in sent if isinstance(p, str) and "\x00" in p]


def test_schema_documents_the_sync_log_as_pages(tmp_path: Any) -> None:
    import yaml

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    answer = schema["paths"][BASE + "sync-logs"]["get"]["responses"]["200"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    page = schema["components"]["schemas"][ref]
    assert page["type"] == "object"
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    assert page["properties"]["results"]["type"] == "array"
