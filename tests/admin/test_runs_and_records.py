"""Manual sync (start + progress page), webhook deliveries with Replay, the settings
audit list, and every change page rendering."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from example_project.billing.models import Contact, Invoice
from qbo_sync.models import Connection, HistoricalRun, SettingsChange, SyncJob, WebhookEvent

from .conftest import make_job


def messages_of(resp: Any) -> list[str]:
    return [str(m) for m in get_messages(resp.wsgi_request)]


def _sync_url(conn: Connection) -> str:
    return reverse("admin:qbo_sync_connection_sync", args=[conn.pk])


def test_manual_sync_dry_run_shows_counts(admin: Any, qbo_connection: Connection,
                                          contact: Contact) -> None:
    Contact.objects.create(workspace=contact.workspace, display_name="Old Co", country="US")
    page = admin.get(_sync_url(qbo_connection) + "?kind=contact")
    assert page.status_code == 200 and 'value="contact" ' in page.content.decode().replace(
        'checked', '')
    jobs_before = SyncJob.objects.count()  # saving contacts queues their own pushes
    resp = admin.post(_sync_url(qbo_connection), {"kind": "contact", "dry_run": "on"})
    run = HistoricalRun.objects.get()
    assert resp.status_code == 302
    assert resp["Location"] == reverse("admin:qbo_sync_historicalrun_change", args=[run.pk])
    assert (run.status, run.total, run.done, run.queued) == ("done", 2, 2, 2)
    html = admin.get(resp["Location"]).content.decode()
    assert "2 / 2 (2 queued, 0 skipped)" in html and "100%" in html
    assert 'http-equiv="refresh"' not in html  # finished: no more reloading
    assert SyncJob.objects.count() == jobs_before  # a dry run pushes nothing


def test_manual_sync_runs_in_background_with_progress(
        admin: Any, qbo_connection: Connection, contact: Contact,
        django_capture_on_commit_callbacks: Any) -> None:
    invoice = Invoice.objects.create(workspace=contact.workspace, contact=contact,
                                     number="INV-1", issue_date=date(2026, 3, 1),
                                     due_date=date(2026, 3, 31), status="sent")
    invoice.lines.create(position=0, description="Design", quantity=Decimal("1"),
                         unit_price=Decimal("100.00"), category="design")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resp = admin.post(_sync_url(qbo_connection),
                          {"kind": "invoice", "since": "2026-01-01"})
    run = HistoricalRun.objects.get()
    assert (run.status, run.since, run.dry_run) == ("queued", date(2026, 1, 1), False)
    assert callbacks  # dispatched to a worker once the request's transaction commits
    html = admin.get(resp["Location"]).content.decode()
    assert '<meta http-equiv="refresh" content="2">' in html  # reloads while it runs
    listing = admin.get("/admin/qbo_sync/historicalrun/").content.decode()
    assert "Queued" in listing and 'http-equiv="refresh"' in listing


def test_manual_sync_refuses_a_second_run(admin: Any, qbo_connection: Connection,
                                          db: Any) -> None:
    HistoricalRun.objects.create(connection=qbo_connection, kind="invoice", status="running")
    resp = admin.post(_sync_url(qbo_connection), {"kind": "invoice"})
    assert resp.status_code == 200
    assert "already running" in resp.content.decode()
    assert HistoricalRun.objects.count() == 1


def _event(verified: bool) -> WebhookEvent:
    return WebhookEvent.objects.create(
        body='{"eventNotifications": []}', verified=verified, envelope="legacy",
        headers={"intuit-signature": "abc"}, realm_ids=["9341453000000001"],
        error="" if verified else "signature mismatch")


def test_webhook_replay_action(admin: Any, db: Any,
                               django_capture_on_commit_callbacks: Any) -> None:
    good, bad = _event(True), _event(False)
    good.error = "pull failed"
    good.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resp = admin.post("/admin/qbo_sync/webhookevent/", {
            "action": "replay", "_selected_action": [good.pk, bad.pk]})
    shown = messages_of(resp)
    assert "1 delivery queued to be processed again." in shown
    assert any(f"#{bad.pk}: This delivery failed the signature check" in m for m in shown)
    assert len(callbacks) == 1
    assert WebhookEvent.objects.get(pk=good.pk).error == ""
    page = admin.get(reverse("admin:qbo_sync_webhookevent_change", args=[good.pk]))
    assert page.status_code == 200 and "intuit-signature" in page.content.decode()


def test_webhook_events_are_for_superusers_only(client: Any, db: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("manager", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="qbo_sync"))
    client.force_login(user)
    assert client.get("/admin/qbo_sync/webhookevent/").status_code == 403


def test_settings_change_list(admin: Any, admin_user: Any, qbo_connection: Connection) -> None:
    SettingsChange.objects.create(connection=qbo_connection, user=admin_user,
                                  field="default_item_id", old_value="", new_value="Design (2)")
    html = admin.get("/admin/qbo_sync/settingschange/").content.decode()
    assert "default_item_id" in html and "Design (2)" in html


@pytest.mark.parametrize("model", ["connection", "syncjob", "historicalrun", "settingschange",
                                   "webhookevent"])
def test_every_change_page_renders(admin: Any, admin_user: Any, qbo_connection: Connection,
                                   model: str) -> None:
    objects = {
        "connection": lambda: qbo_connection,
        "syncjob": lambda: make_job(qbo_connection, status="failed"),
        "historicalrun": lambda: HistoricalRun.objects.create(connection=qbo_connection,
                                                              kind="contact"),
        "settingschange": lambda: SettingsChange.objects.create(
            connection=qbo_connection, user=admin_user, field="minor_version",
            old_value="75", new_value="76"),
        "webhookevent": lambda: _event(True),
    }
    obj = objects[model]()
    assert admin.get(f"/admin/qbo_sync/{model}/").status_code == 200
    assert admin.get(f"/admin/qbo_sync/{model}/{obj.pk}/change/").status_code == 200


def test_filter_sidebars_list_only_the_users_workspaces(client: Any,
                                                        qbo_connection: Connection) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    from example_project.billing.models import Membership, Workspace

    # The user manages two workspaces (a filter with one choice is not shown), not "default".
    user = get_user_model().objects.create_user("eu_admin", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="qbo_sync"))
    mine = []
    for n, slug in enumerate(("uk", "ie"), start=1):
        ws = Workspace.objects.create(name=slug, slug=slug, country="GB", home_currency="GBP")
        Membership.objects.create(user=user, workspace=ws, role="admin")
        mine.append(Connection.objects.create(workspace=slug, realm_id=f"46208163650000{n}",
                                              company_name=f"Acme {slug}"))
    for conn in (qbo_connection, *mine):
        SettingsChange.objects.create(connection=conn, field="minor_version",
                                      old_value="75", new_value="76")
        HistoricalRun.objects.create(connection=conn, kind="contact")
    client.force_login(user)

    def sidebar(url: str) -> list[str]:
        resp = client.get(url)
        assert resp.status_code == 200
        return [str(choice["display"]) for spec in resp.context["cl"].filter_specs
                for choice in spec.choices(resp.context["cl"])]

    changes = sidebar("/admin/qbo_sync/settingschange/")
    assert {str(c) for c in mine} <= set(changes) and str(qbo_connection) not in changes
    runs = sidebar("/admin/qbo_sync/historicalrun/")
    assert {"uk", "ie"} <= set(runs) and "default" not in runs
