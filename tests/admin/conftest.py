"""Fixtures for the admin tests: a superuser's client, a connected connection on the
in-process simulator, and helpers to post the connection change form."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from example_project.billing.models import Contact, Workspace
from qbo_sync.models import Connection, SyncJob


@pytest.fixture
def admin(admin_client: Any, qbo_connection: Connection) -> Any:
    """The superuser's client, with a connected connection for workspace "default"."""
    return admin_client


def change_url(conn: Connection) -> str:
    return reverse("admin:qbo_sync_connection_change", args=[conn.pk])


def settings_post(conn: Connection, *, items: list[dict] | None = None,
                  taxes: list[dict] | None = None, workers: list[dict] | None = None,
                  **fields: Any) -> dict[str, Any]:
    """POST data for the connection change form: the current settings overridden by
    ``fields``, plus inline rows (dicts with ``id`` for existing rows)."""
    data: dict[str, Any] = {
        "invoice_number_strategy": conn.invoice_number_strategy,
        "tax_authority": conn.tax_authority,
        "default_item_id": conn.default_item_id,
        "default_tax_code_id": conn.default_tax_code_id,
        "default_deposit_account_id": conn.default_deposit_account_id,
        "ar_account_id": conn.ar_account_id,
        "rounding_item_id": conn.rounding_item_id,
        "rounding_tolerance": conn.rounding_tolerance,
        "minor_version": conn.minor_version,
        "_continue": "Save and continue editing",
    }
    data.update(fields)
    for prefix, rows in (("item_mappings", items or []), ("tax_mappings", taxes or []),
                         ("worker_mappings", workers or [])):
        initial = sum(1 for r in rows if r.get("id"))
        data.update({f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": initial,
                     f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000})
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = value
            data[f"{prefix}-{i}-connection"] = conn.pk
    return data


def first_item(sim_lists: dict, name: str | None = None) -> dict:
    items = sim_lists["items"]
    return next(i for i in items if name is None or i["name"] == name)


@pytest.fixture
def workspace(db: Any) -> Workspace:
    return Workspace.objects.create(name="Acme US", slug="default", country="US",
                                    home_currency="USD")


@pytest.fixture
def contact(workspace: Workspace) -> Contact:
    return Contact.objects.create(workspace=workspace, display_name="Northwind Analytics LLC",
                                  email="billing@northwind.example", country="US",
                                  currency="USD")


def make_job(conn: Connection | None, **fields: Any) -> SyncJob:
    defaults = {"workspace": conn.workspace if conn else "default", "entity": "invoice",
                "action": "create", "direction": "push"}
    defaults.update(fields)
    obj = defaults.pop("obj", None)
    if obj is not None:
        defaults["content_type"] = ContentType.objects.get_for_model(obj)
        defaults["object_id"] = str(obj.pk)
    return SyncJob.objects.create(connection=conn, **defaults)
