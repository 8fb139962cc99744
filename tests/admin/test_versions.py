"""The versions screen: any two versions side by side with the differences marked, the
rollback (a new version, validated), one version per admin save with its note, and the
audit trail append-only through the app."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from django.urls import reverse

from qbo_sync.connection import settings as configure
from qbo_sync.connection.lists import load_lists
from qbo_sync.models import Connection, MappingVersion, SettingsChange

from .conftest import change_url, settings_post
from .test_health import messages_of

LIST = "/admin/qbo_sync/mappingversion/"


def _versions(conn: Connection) -> list[MappingVersion]:
    return list(MappingVersion.objects.filter(connection=conn).order_by("number"))


def test_one_admin_save_is_one_version_with_its_note(admin: Any,
                                                     qbo_connection: Connection) -> None:
    post = settings_post(qbo_connection, default_item_id="2",
                         version_note="New price list",
                         items=[{"category": "design", "item_id": "2"},
                                {"category": "hosting", "item_id": "4"}])
    assert admin.post(change_url(qbo_connection), post).status_code == 302
    first, second = _versions(qbo_connection)
    assert (second.number, second.note, second.user.username) == (2, "New price list",
                                                                  "admin")
    assert second.snapshot["items"] == {"design": "2", "hosting": "4"}
    assert second.snapshot["settings"]["default_item_id"] == "2"
    assert first.snapshot["items"] == {}
    page = admin.get(change_url(qbo_connection)).content.decode()
    assert 'id="qbo-versions"' in page and "Note for this change" in page


def test_compare_two_versions_side_by_side(admin: Any, qbo_connection: Connection) -> None:
    configure.import_mappings(qbo_connection, kind="items", data={"design": "2"})
    configure.import_mappings(qbo_connection, kind="items", data={"design": "3",
                                                                  "hosting": "4"})
    one, _, three = _versions(qbo_connection)
    url = reverse("admin:qbo_sync_mappingversion_compare")
    resp = admin.get(url, {"a": one.pk, "b": three.pk})
    html = resp.content.decode()
    assert resp.status_code == 200 and "Compare versions 1 and 3" in html
    assert 'class="qbo-diff-added"' in html and "Consulting (4)" in html
    assert 'class="qbo-diff-changed"' not in html  # design did not exist in version 1
    assert html.count("<tr>") >= 9  # the unchanged settings are shown too
    assert '<strong id="qbo-changed-count">2 differences</strong>' in html
    only = admin.get(url, {"a": resp.context["a"].pk + 1, "b": three.pk, "only": "1"})
    text = only.content.decode()
    assert 'class="qbo-diff-changed"' in text and "Design (2)" in text
    assert "Development (3)" in text and "minor_version" not in text
    # The list links each version to the one before it.
    listing = admin.get(LIST).content.decode()
    assert f"?a={one.pk}&amp;b=" in listing


@pytest.mark.parametrize("query", [{}, {"a": "x", "b": "1"}, {"a": "999", "b": "998"}])
def test_compare_without_two_versions_says_what_to_do(admin: Any, qbo_connection: Connection,
                                                      query: dict) -> None:
    resp = admin.get(reverse("admin:qbo_sync_mappingversion_compare"), query)
    assert resp.status_code == 400 and "Choose two versions" in resp.content.decode()


def test_compare_refuses_versions_of_two_connections(admin: Any, qbo_connection: Connection,
                                                     qbo_connect: Any) -> None:
    from qbo_sync.testing.simulator.companies import UK_REALM

    configure.update_settings(qbo_connection, invoice_number_strategy="qbo")
    other = qbo_connect(UK_REALM, workspace="uk")
    configure.update_settings(other, invoice_number_strategy="qbo")
    a, b = _versions(qbo_connection)[0], _versions(other)[0]
    resp = admin.get(reverse("admin:qbo_sync_mappingversion_compare"), {"a": a.pk, "b": b.pk})
    assert resp.status_code == 400 and "different connections" in resp.content.decode()


def test_rollback_from_the_admin(admin: Any, qbo_connection: Connection) -> None:
    configure.update_settings(qbo_connection, default_item_id="2")
    configure.update_settings(qbo_connection, default_item_id="3")
    two = _versions(qbo_connection)[1]
    detail = admin.get(reverse("admin:qbo_sync_mappingversion_change", args=[two.pk]))
    assert 'id="qbo-rollback"' in detail.content.decode()
    url = reverse("admin:qbo_sync_mappingversion_rollback", args=[two.pk])
    page = admin.get(url).content.decode()
    assert "Roll back default to version 2?" in page
    assert "Development (3)" in page and "Design (2)" in page  # what would change
    resp = admin.post(url, {"note": "Wrong item"})
    new = _versions(qbo_connection)[-1]
    assert resp.status_code == 302 and resp["Location"].endswith(f"/{new.pk}/change/")
    assert (new.number, new.restored_from, new.note) == (4, two, "Wrong item")
    assert Connection.objects.get(pk=qbo_connection.pk).default_item_id == "2"
    assert messages_of(resp) == ["Rolled back to version 2: the settings and mappings are "
                                 "now version 4."]


def test_a_rollback_that_no_longer_validates_is_refused_with_the_reason(
        admin: Any, qbo_connection: Connection) -> None:
    configure.update_settings(qbo_connection, default_item_id="5")
    configure.update_settings(qbo_connection, default_item_id="2")
    lists = load_lists(qbo_connection)
    qbo_connection.lists_cache = {**lists, "items": [i for i in lists["items"]
                                                     if i["id"] != "5"]}
    qbo_connection.save(update_fields=["lists_cache"])
    two = _versions(qbo_connection)[1]
    resp = admin.post(reverse("admin:qbo_sync_mappingversion_rollback", args=[two.pk]))
    assert resp.status_code == 302
    [message] = messages_of(resp)
    assert message.startswith("Not rolled back: Version 2 cannot be restored")
    assert "'5' is not in QuickBooks' list" in message
    assert len(_versions(qbo_connection)) == 3


def test_rollback_needs_the_right_to_change_settings(client: Any,
                                                     qbo_connection: Connection) -> None:
    from django.contrib.auth.models import Permission

    configure.update_settings(qbo_connection, default_item_id="2")
    viewer = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_mappingversion"))
    client.force_login(viewer)
    one = _versions(qbo_connection)[0]
    url = reverse("admin:qbo_sync_mappingversion_rollback", args=[one.pk])
    assert client.post(url).status_code == 403
    assert len(_versions(qbo_connection)) == 2


@pytest.mark.parametrize("model", [MappingVersion, SettingsChange])
def test_the_audit_trail_is_append_only(admin: Any, qbo_connection: Connection,
                                        model: Any) -> None:
    configure.update_settings(qbo_connection, default_item_id="2")
    row = model.objects.first()
    name = model._meta.model_name
    model_admin = django_admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.get(username="admin")  # a superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)
    # Through the screens: no delete page, no bulk delete, no edit.
    delete = reverse(f"admin:qbo_sync_{name}_delete", args=[row.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    assert admin.post(reverse(f"admin:qbo_sync_{name}_changelist"),
                      {"action": "delete_selected", "_selected_action": [row.pk],
                       "post": "yes"}).status_code in (200, 302)
    change = reverse(f"admin:qbo_sync_{name}_change", args=[row.pk])
    admin.post(change, {"note": "edited", "new_value": "edited"})
    assert admin.post(reverse(f"admin:qbo_sync_{name}_add"), {}).status_code == 403
    fresh = model.objects.get(pk=row.pk)
    assert model.objects.filter(pk=row.pk).exists()
    assert getattr(fresh, "note", "") != "edited" and getattr(fresh, "new_value", "") != "edited"


def test_other_workspaces_versions_are_hidden(client: Any, qbo_connection: Connection,
                                              qbo_connect: Any) -> None:
    from django.contrib.auth.models import Permission

    from example_project.billing.models import Membership, Workspace
    from qbo_sync.testing.simulator.companies import UK_REALM

    configure.update_settings(qbo_connection, invoice_number_strategy="qbo")
    theirs = _versions(qbo_connection)[0]
    uk_conn = qbo_connect(UK_REALM, workspace="uk")
    configure.update_settings(uk_conn, invoice_number_strategy="qbo")
    mine = _versions(uk_conn)
    uk = Workspace.objects.create(name="Acme UK", slug="uk", country="GB", home_currency="GBP")
    user = get_user_model().objects.create_user("uk_admin", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="qbo_sync"))
    Membership.objects.create(user=user, workspace=uk, role="admin")
    client.force_login(user)
    listed = {v.pk for v in client.get(LIST).context["cl"].result_list}
    assert listed == {v.pk for v in mine}
    compare = reverse("admin:qbo_sync_mappingversion_compare")
    assert client.get(compare, {"a": theirs.pk, "b": mine[0].pk}).status_code == 400
    url = reverse("admin:qbo_sync_mappingversion_rollback", args=[theirs.pk])
    assert client.post(url).status_code == 404
    assert client.post(reverse("admin:qbo_sync_mappingversion_rollback",
                               args=[mine[0].pk])).status_code == 302
    assert Connection.objects.get(pk=uk_conn.pk).invoice_number_strategy == "app"
    assert Connection.objects.get(pk=qbo_connection.pk).invoice_number_strategy == "qbo"
