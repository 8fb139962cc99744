"""manage.py qbo_sync_history / qbo_sync_status / qbo_sync_settings."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from qbo_sync.models import Connection, HistoricalRun, ItemMapping, SyncJob

from ..support import contact, invoice, workspaces


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_history_command(qbo_connection: Any, capsys: Any) -> None:
    us, uk = workspaces()
    ann = contact(us, "Ann Able")
    contact(uk, "Ulla UK")
    invoice(ann, "INV-1", date(2025, 6, 1))
    invoice(ann, "INV-2", date(2026, 2, 1))
    SyncJob.objects.all().delete()
    out, _ = run("qbo_sync_history", "--workspace", "default", "--kind", "invoices",
                 "--since", "2026-01-01", "--dry-run")
    assert "1 would be queued" in out and not SyncJob.objects.exists()
    assert "100%" in capsys.readouterr().err  # the progress bar
    out, _ = run("qbo_sync_history", "--workspace", "default", "--kind", "contacts")
    assert "1 queued" in out and SyncJob.objects.filter(entity="contact").count() == 1
    assert HistoricalRun.objects.filter(status="done").count() == 2
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        run("qbo_sync_history", "--workspace", "default", "--kind", "invoices",
            "--since", "June")
    with pytest.raises(CommandError, match="no QuickBooks connection"):
        run("qbo_sync_history", "--workspace", "nope", "--kind", "contacts")


def test_status_command(qbo_connection: Any) -> None:
    SyncJob.objects.create(workspace="default", connection=qbo_connection, entity="invoice",
                           action="sync", status="failed")
    out, _ = run("qbo_sync_status")
    header, row = out.splitlines()[:2]
    assert header.split()[:3] == ["workspace", "status", "company"]
    assert row.startswith("default") and "connected" in row and qbo_connection.realm_id in row
    assert "Default Item, Default Deposit Account" in row
    assert qbo_connection.access_token not in out
    with pytest.raises(CommandError):
        run("qbo_sync_status", "--workspace", "nope")


def test_settings_command(qbo_connection: Any, tmp_path: Any) -> None:
    items = tmp_path / "items.json"
    items.write_text(json.dumps({"design": "2", "development": "3"}))
    out, err = run("qbo_sync_settings", "--workspace", "default", "--set", "default_item_id=2",
                   "--set", "invoice_number_strategy=qbo", "--import-items", str(items))
    assert "default_item_id: - → Design (2)" in out and "2 created" in out
    assert "Default Deposit Account" in err and "Default Item" not in err
    conn = Connection.objects.get()
    assert conn.invoice_number_strategy == "qbo" and ItemMapping.objects.count() == 2
    out, _ = run("qbo_sync_settings", "--workspace", "default", "--export")
    exported = json.loads(out)
    assert exported["items"] == {"design": "2", "development": "3"}
    assert exported["settings"]["default_item_id"] == "2" and "access_token" not in out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"support": "99"}))
    with pytest.raises(CommandError, match="99.*Fix:"):
        run("qbo_sync_settings", "--workspace", "default", "--import-items", str(bad))
    with pytest.raises(CommandError, match="key=value"):
        run("qbo_sync_settings", "--workspace", "default", "--set", "colour=blue")
    with pytest.raises(CommandError, match="Fix:"):
        run("qbo_sync_settings", "--workspace", "default", "--set", "minor_version=60")
