"""The admin screens load and the Send / Move to Ready to Invoice actions work."""

from decimal import Decimal

import pytest
from django.urls import reverse

from example_project.billing.models import Invoice, Task, TimeEntry

from .conftest import make_invoice


@pytest.fixture
def admin_client_(client, people):
    client.force_login(people["root"])
    return client


@pytest.mark.parametrize("model", ["workspace", "membership", "contact", "invoice", "payment",
                                   "creditmemo", "refund", "task", "timeentry"])
def test_changelists_and_add_pages_load(admin_client_, us_contact, model):
    make_invoice(us_contact, [{"unit_price": Decimal("10")}])
    assert admin_client_.get(reverse(f"admin:billing_{model}_changelist")).status_code == 200
    assert admin_client_.get(reverse(f"admin:billing_{model}_add")).status_code == 200


def test_send_action(admin_client_, us_contact):
    ready = make_invoice(us_contact, [{"unit_price": Decimal("10")}])
    empty = make_invoice(us_contact, [])
    response = admin_client_.post(
        reverse("admin:billing_invoice_changelist"),
        {"action": "send_invoices", "_selected_action": [ready.pk, empty.pk]}, follow=True,
    )
    ready.refresh_from_db()
    empty.refresh_from_db()
    assert (ready.status, empty.status) == ("sent", "draft")
    text = response.content.decode()
    assert "1 invoice(s) sent" in text and "Add at least one line" in text


def test_move_to_ready_to_invoice_action(admin_client_, us_contact):
    task = Task.objects.create(workspace=us_contact.workspace, contact=us_contact, title="Audit")
    TimeEntry.objects.create(task=task, description="Review", hours=Decimal("2"),
                             rate=Decimal("150"))
    admin_client_.post(reverse("admin:billing_task_changelist"),
                       {"action": "move_to_ready_to_invoice", "_selected_action": [task.pk]})
    task.refresh_from_db()
    assert task.status == "ready_to_invoice"
    assert task.invoice.total == Decimal("300.00")
    assert Invoice.objects.count() == 1


def test_task_added_straight_into_ready_to_invoice_bills_its_new_entries(
    admin_client_, us_contact
):
    response = admin_client_.post(reverse("admin:billing_task_add"), {
        "workspace": us_contact.workspace.pk, "title": "Launch", "contact": us_contact.pk,
        "status": "ready_to_invoice", "note": "",
        "time_entries-TOTAL_FORMS": "2", "time_entries-INITIAL_FORMS": "0",
        "time_entries-MIN_NUM_FORMS": "0", "time_entries-MAX_NUM_FORMS": "1000",
        "time_entries-0-description": "Deploy", "time_entries-0-hours": "1.5",
        "time_entries-0-rate": "100.00", "time_entries-0-category": "development",
        "time_entries-0-billable": "on",
        "time_entries-1-description": "Coffee", "time_entries-1-hours": "1",
        "time_entries-1-rate": "100.00", "time_entries-1-category": "consulting",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    task = Task.objects.get(title="Launch")
    assert task.status == "ready_to_invoice"
    assert list(task.invoice.lines.values_list("description", flat=True)) == ["Deploy"]
