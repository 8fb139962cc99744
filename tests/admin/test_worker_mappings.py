"""Worker mappings (time entry worker → QuickBooks employee or vendor) are edited on the
connection page."""

from __future__ import annotations

from typing import Any

from qbo_sync.models import Connection, WorkerMapping

from .conftest import change_url, settings_post


def test_a_worker_mapping_is_saved_from_the_connection_page(admin: Any,
                                                            qbo_connection: Connection):
    page = admin.get(change_url(qbo_connection))
    assert "worker_mappings-TOTAL_FORMS" in page.content.decode()
    resp = admin.post(change_url(qbo_connection), settings_post(
        qbo_connection, default_item_id="1", default_deposit_account_id="1",
        workers=[{"worker_key": "", "name_of": "Vendor", "qbo_id": "1",
                  "qbo_name": "Simulated Supplies Co"}]))
    assert resp.status_code == 302, resp.context["adminform"].form.errors
    row = WorkerMapping.objects.get(connection=qbo_connection)
    assert (row.worker_key, row.name_of, row.qbo_id) == ("", "Vendor", "1")
    assert str(row) == "(default) → Vendor Simulated Supplies Co"
