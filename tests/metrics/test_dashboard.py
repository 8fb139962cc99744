"""The admin dashboard: per workspace, charts for the chosen window, linked from the
connection screens; a window it does not know is a 400 naming the choices."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from django.urls import reverse

from qbo_sync.models import ApiCallCount, Connection, SyncJob
from qbo_sync.reconcile.run import start_reconciliation

pytestmark = pytest.mark.django_db


def url(conn: Connection, window: str | None = None) -> str:
    base = reverse("admin:qbo_sync_connection_dashboard", args=[conn.pk])
    return base + (f"?window={window}" if window else "")


def test_dashboard_shows_the_charts(admin_client: Any, qbo_connection: Connection,
                                    host_contact: Any) -> None:
    from qbo_sync.sync import engine
    job = SyncJob.objects.get(entity="contact")
    assert engine.run_job(job.pk) == "succeeded"
    assert ApiCallCount.objects.filter(connection=qbo_connection, source="job").exists()
    start_reconciliation(qbo_connection, trigger="admin")
    resp = admin_client.get(url(qbo_connection, "1h"))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Dashboard: default" in html and 'aria-current="page">1h<' in html
    svgs = html.count('<svg xmlns="http://www.w3.org/2000/svg" class="qbo-chart"')
    assert svgs == 8
    start = html.index('<svg xmlns="http://www.w3.org/2000/svg" class="qbo-chart" '
                       'id="qbo-chart-outcomes"')
    outcomes = ET.fromstring(html[start:html.index("</svg>", start) + 6])
    assert "succeeded: 1" in outcomes.find("{http://www.w3.org/2000/svg}desc").text
    assert "No data in this window." not in html[start:html.index("</svg>", start)]
    assert 'id="qbo-chart-calls"' in html and "QuickBooks limit" in html


def test_dashboard_is_linked(admin_client: Any, qbo_connection: Connection) -> None:
    listing = admin_client.get(reverse("admin:qbo_sync_connection_changelist")).content
    change = admin_client.get(reverse("admin:qbo_sync_connection_change",
                                      args=[qbo_connection.pk])).content
    assert url(qbo_connection).encode() in listing and url(qbo_connection).encode() in change


def test_an_unknown_window_is_a_400(admin_client: Any, qbo_connection: Connection) -> None:
    resp = admin_client.get(url(qbo_connection, "<b>2d</b>"))
    assert resp.status_code == 400
    assert b"1h, 24h, 7d, 30d" in resp.content and b"<b>" not in resp.content


def test_another_workspaces_dashboard_is_refused(client: Any, qbo_connection: Connection,
                                                 django_user_model: Any) -> None:
    staff = django_user_model.objects.create_user("staff", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(url(qbo_connection)).status_code == 403
