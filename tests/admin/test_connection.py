"""The connection screen: status, buttons, token lifetimes, settings from the live
QBO lists, required flags, mappings with import / export, and the audit trail."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from qbo_sync.models import Connection, ItemMapping, SettingsChange, TaxMapping
from qbo_sync.testing.simulator.companies import US_REALM

from ..oauth_sim import click_through
from .conftest import change_url, settings_post

LIST_URL = "/admin/qbo_sync/connection/"


def messages_of(resp: Any) -> list[str]:
    return [str(m) for m in get_messages(resp.wsgi_request)]


def test_list_shows_status_company_expiry_and_no_tokens(admin: Any,
                                                         qbo_connection: Connection) -> None:
    resp = admin.get(LIST_URL)
    html = resp.content.decode()
    assert resp.status_code == 200
    assert f"Connected to {qbo_connection.company_name}" in html
    assert "#1b7f3b" in html  # green badge
    assert "Connect to QuickBooks" in html and 'action="/qbo/connect/"' in html
    assert "in 59\xa0minutes" in html or "in 1\xa0hour" in html  # access token countdown
    assert "Disconnect" in html
    # Tokens are never shown, not even on the change page.
    page = admin.get(change_url(qbo_connection)).content.decode()
    for secret in (qbo_connection.access_token, qbo_connection.refresh_token):
        assert secret and secret not in html and secret not in page


def test_change_page_loads_lists_live_and_flags_required(admin: Any, qbo_simulator: Any,
                                                         qbo_connection: Connection) -> None:
    resp = admin.get(change_url(qbo_connection))
    html = resp.content.decode()
    assert resp.status_code == 200
    # Items, tax codes and accounts come from QBO (the simulator's US company).
    for name in ("Design", "Development", "Undeposited Funds", "Accounts Receivable (A/R)",
                 "TAX", "NON"):
        assert name in html
    assert any("/query" in r["path"] for r in _api_calls(qbo_simulator))
    # The banner lists the missing required settings and the labels are flagged.
    assert 'id="qbo-missing"' in html
    assert "<li>Default Item</li>" in html and "<li>Default Deposit Account</li>" in html
    assert html.count('class="qbo-required"') == 2
    # Connected: Disconnect, Reconnect, Refresh lists, manual syncs.
    for label in ("Disconnect", "Reconnect", "Refresh lists from QuickBooks", "Sync contacts",
                  "Sync invoices", "Export mappings", "Import mappings"):
        assert label in html
    # A second view is served from the cache: no new list queries.
    before = len(_api_calls(qbo_simulator))
    admin.get(change_url(qbo_connection))
    assert len(_api_calls(qbo_simulator)) == before


def _api_calls(sim: Any) -> list[dict]:
    return [r if isinstance(r, dict) else vars(r) for r in sim.requests_log
            if "/v3/company/" in (r["path"] if isinstance(r, dict) else r.path)]


def test_saving_settings_goes_through_configure_and_is_audited(
        admin: Any, admin_user: Any, qbo_connection: Connection) -> None:
    resp = admin.post(change_url(qbo_connection), settings_post(
        qbo_connection, default_item_id="2", default_deposit_account_id="1",
        invoice_number_strategy="qbo", tax_authority="quickbooks"))
    assert resp.status_code == 302, resp.context["adminform"].form.errors
    conn = Connection.objects.get(pk=qbo_connection.pk)
    assert (conn.default_item_id, conn.default_item_name) == ("2", "Design")
    assert conn.default_deposit_account_name == "Undeposited Funds"
    assert conn.invoice_number_strategy == "qbo"
    assert conn.tax_authority == "quickbooks"
    changes = {c.field: c for c in SettingsChange.objects.filter(connection=conn)}
    assert set(changes) == {"default_item_id", "default_deposit_account_id",
                            "invoice_number_strategy", "tax_authority"}
    assert changes["default_item_id"].user == admin_user
    assert changes["default_item_id"].new_value == "Design (2)"
    # No more banner; the change history is on the page.
    html = admin.get(change_url(conn)).content.decode()
    assert 'id="qbo-missing"' not in html and 'class="qbo-required"' not in html
    assert "default_item_id" in html and "Design (2)" in html


def test_unknown_choice_and_old_minor_version_are_refused(admin: Any,
                                                          qbo_connection: Connection) -> None:
    resp = admin.post(change_url(qbo_connection),
                      settings_post(qbo_connection, default_item_id="999", minor_version=65))
    assert resp.status_code == 200
    errors = resp.context["adminform"].form.errors
    assert "default_item_id" in errors
    assert "75 or higher" in errors["minor_version"][0]
    assert not SettingsChange.objects.exists()


def test_mappings_inline_add_change_delete_audited(admin: Any,
                                                   qbo_connection: Connection) -> None:
    post = settings_post(qbo_connection, items=[{"category": "design", "item_id": "2"}],
                         taxes=[{"tax_rate": "0.00", "tax_code_id": "NON"}])
    assert admin.post(change_url(qbo_connection), post).status_code == 302
    item = ItemMapping.objects.get(connection=qbo_connection)
    assert (item.category, item.item_id, item.item_name) == ("design", "2", "Design")
    tax = TaxMapping.objects.get(connection=qbo_connection)
    assert (tax.tax_rate, tax.tax_code_id) == ("0.00", "NON")
    # Change the item, then delete the row.
    post = settings_post(qbo_connection, items=[{"id": item.pk, "category": "design",
                                                 "item_id": "3"}])
    assert admin.post(change_url(qbo_connection), post).status_code == 302
    assert ItemMapping.objects.get(pk=item.pk).item_name == "Development"
    post = settings_post(qbo_connection, items=[{"id": item.pk, "category": "design",
                                                 "item_id": "3", "DELETE": "on"}])
    assert admin.post(change_url(qbo_connection), post).status_code == 302
    assert not ItemMapping.objects.exists()
    trail = list(SettingsChange.objects.filter(field="item_mapping:design")
                 .order_by("changed_at", "pk").values_list("old_value", "new_value"))
    assert trail == [("", "Design (2)"), ("Design (2)", "Development (3)"),
                     ("Development (3)", "")]


def test_export_and_import_mappings(admin: Any, qbo_connection: Connection) -> None:
    pk = qbo_connection.pk
    url = reverse("admin:qbo_sync_connection_import", args=[pk])
    assert admin.get(url).status_code == 200
    resp = admin.post(url, {"kind": "items",
                            "text": json.dumps({"design": "2", "development": "3"})})
    assert resp.status_code == 302
    assert "Item mappings imported: 2 created, 0 updated, 0 unchanged." in messages_of(resp)
    resp = admin.get(reverse("admin:qbo_sync_connection_export", args=[pk]))
    assert resp["Content-Disposition"] == 'attachment; filename="qbo-mappings-default.json"'
    exported = json.loads(resp.content)
    assert exported["schema_version"] == 1  # the versioned export, settings included
    assert (exported["items"], exported["taxes"]) == ({"design": "2", "development": "3"}, {})
    assert exported["settings"]["invoice_number_strategy"] == "app"
    # The whole export imports back (auto-detected); an unknown id rejects everything.
    exported["taxes"] = {"8.25": "TAX"}
    resp = admin.post(url, {"kind": "auto", "text": json.dumps(exported)})
    assert resp.status_code == 302
    assert TaxMapping.objects.get(tax_rate="8.25").tax_code_id == "TAX"
    # The older, unversioned export is migrated; a newer version is refused, with the fix.
    resp = admin.post(url, {"kind": "auto", "text": json.dumps(
        {"items": {"hosting": "4"}, "taxes": {}})})
    assert resp.status_code == 302 and ItemMapping.objects.filter(category="hosting").exists()
    resp = admin.post(url, {"kind": "auto", "text": json.dumps(
        {"schema_version": 9, "items": {"travel": "5"}})})
    assert resp.status_code == 200
    assert "schema_version 9, written by a newer qbo_sync" in resp.content.decode()
    assert "Upgrade qbo_sync" in resp.content.decode()
    assert not ItemMapping.objects.filter(category="travel").exists()
    resp = admin.post(url, {"kind": "items", "text": '{"design": "2", "travel": "999"}'})
    assert resp.status_code == 200
    assert "Unknown QuickBooks item id(s): 999" in resp.content.decode()
    assert not ItemMapping.objects.filter(category="travel").exists()
    resp = admin.post(url, {"kind": "items", "text": "{not json"})
    assert "not valid JSON" in resp.content.decode()


def test_refresh_lists_reloads_from_quickbooks(admin: Any, qbo_simulator: Any,
                                               qbo_connection: Connection) -> None:
    admin.get(change_url(qbo_connection))
    before = len(_api_calls(qbo_simulator))
    url = reverse("admin:qbo_sync_connection_refresh_lists", args=[qbo_connection.pk])
    assert admin.get(url).status_code == 405
    resp = admin.post(url)
    assert resp.status_code == 302
    assert len(_api_calls(qbo_simulator)) > before
    assert messages_of(resp) == ["Loaded 5 items, 3 tax codes and 6 accounts from QuickBooks."]


def test_disconnect_confirms_then_revokes(admin: Any, qbo_connection: Connection) -> None:
    url = reverse("admin:qbo_sync_connection_disconnect", args=[qbo_connection.pk])
    page = admin.get(url)
    assert page.status_code == 200 and "Yes, disconnect" in page.content.decode()
    assert Connection.objects.get(pk=qbo_connection.pk).is_connected
    resp = admin.post(url)
    assert resp.status_code == 302 and resp["Location"] == change_url(qbo_connection)
    conn = Connection.objects.get(pk=qbo_connection.pk)
    assert conn.status == Connection.Status.DISCONNECTED
    assert conn.access_token == "" and conn.refresh_token == ""
    html = admin.get(change_url(conn)).content.decode()
    assert 'href="/qbo/connect/?workspace=default"' in html
    assert "Connect to QuickBooks" in html and "Refresh lists" not in html


def test_error_status_shows_reason_and_reconnect(admin: Any,
                                                 qbo_connection: Connection) -> None:
    Connection.objects.filter(pk=qbo_connection.pk).update(
        status=Connection.Status.ERROR,
        status_reason="QuickBooks refused the refresh token (invalid_grant).")
    html = admin.get(LIST_URL).content.decode()
    assert "Needs reconnect" in html and "#b3261e" in html
    assert "invalid_grant" in html and ">Reconnect</a>" in html
    html = admin.get(change_url(qbo_connection)).content.decode()
    assert "QuickBooks needs to be reconnected" in html


def test_reconnect_button_runs_the_oauth_flow(admin: Any, qbo_simulator: Any,
                                              qbo_connection: Connection,
                                              workspace: Any) -> None:
    # ``workspace``: the host's "default" workspace exists (the example's resolver
    # refuses one that does not, even for a superuser, rather than falling back).
    Connection.objects.filter(pk=qbo_connection.pk).update(status=Connection.Status.ERROR)
    resp = admin.get("/qbo/connect/?workspace=default")
    assert resp.status_code == 302
    back = click_through(resp["Location"], realm=US_REALM)
    done = admin.get(back.split("testserver", 1)[-1])
    assert done.status_code == 302 and done["Location"] == LIST_URL
    conn = Connection.objects.get(pk=qbo_connection.pk)
    assert conn.status == Connection.Status.CONNECTED
    assert conn.access_token_expires_at > timezone.now() + timedelta(minutes=50)


def test_staff_of_another_workspace_sees_nothing(client: Any, qbo_connection: Connection,
                                                 db: Any) -> None:
    from django.contrib.auth.models import Permission

    from example_project.billing.models import Membership, Workspace

    other = Workspace.objects.create(name="Acme UK", slug="uk", country="GB",
                                     home_currency="GBP")
    user = get_user_model().objects.create_user("uk_admin", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="qbo_sync"))
    Membership.objects.create(user=user, workspace=other, role="admin")
    client.force_login(user)
    html = client.get(LIST_URL).content.decode()
    assert "0 QuickBooks connections" in html or qbo_connection.company_name not in html
    assert client.get(change_url(qbo_connection)).status_code == 302  # "does not exist"
    url = reverse("admin:qbo_sync_connection_disconnect", args=[qbo_connection.pk])
    assert client.post(url).status_code == 404
    assert Connection.objects.get(pk=qbo_connection.pk).is_connected


@pytest.mark.parametrize("model", ["connection", "syncjob", "historicalrun", "settingschange",
                                   "webhookevent"])
def test_every_changelist_renders(admin: Any, model: str) -> None:
    assert admin.get(f"/admin/qbo_sync/{model}/").status_code == 200


def test_import_refuses_non_utf8_and_deeply_nested_files(admin: Any,
                                                         qbo_connection: Connection) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    url = reverse("admin:qbo_sync_connection_import", args=[qbo_connection.pk])
    latin1 = SimpleUploadedFile("mappings.json", '{"caf\xe9": "2"}'.encode("latin-1"))
    resp = admin.post(url, {"kind": "items", "file": latin1})
    assert resp.status_code == 200 and "not UTF-8 text" in resp.content.decode()
    deep = "[" * 100_000 + "]" * 100_000
    resp = admin.post(url, {"kind": "items", "text": deep})
    assert resp.status_code == 200 and "nested too deeply" in resp.content.decode()
    deep_file = SimpleUploadedFile("mappings.json", ('{"a": ' * 50_000 + "1"
                                                     + "}" * 50_000).encode())
    resp = admin.post(url, {"kind": "items", "file": deep_file})
    assert resp.status_code == 200 and "nested too deeply" in resp.content.decode()
    long_key = json.dumps({"x" * 101: "2"})
    resp = admin.post(url, {"kind": "items", "text": long_key})
    assert resp.status_code == 200 and "at most 100" in resp.content.decode()
    assert not ItemMapping.objects.exists()


def test_minor_version_above_the_bound_is_refused(admin: Any,
                                                  qbo_connection: Connection) -> None:
    resp = admin.post(change_url(qbo_connection),
                      settings_post(qbo_connection, minor_version=1000))
    assert resp.status_code == 200
    assert "999 or lower" in resp.context["adminform"].form.errors["minor_version"][0]
    assert Connection.objects.get(pk=qbo_connection.pk).minor_version == 75
