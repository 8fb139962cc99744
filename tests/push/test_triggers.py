"""What host saves queue a push, and what each push does in QBO."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from example_project.billing.models import Contact, InvoiceLine
from qbo_sync.models import EntityLink, SyncJob
from qbo_sync.sync import outbox

from .conftest import job_for, jobs, make_invoice, qbo, send_invoice, writes


def test_new_contact_creates_customer(qbo_simulator, connected, us_workspace):
    contact = Contact.objects.create(workspace=us_workspace, display_name="Globex Corp",
                                     email="ap@globex.example", phone="555-0101",
                                     address_line1="5 Elm St", city="Springfield")
    job = job_for(contact)
    assert (job.entity, job.status, job.direction) == ("contact", "succeeded", "push")
    [customer] = qbo(qbo_simulator, "Customer")
    assert customer["DisplayName"] == "Globex Corp"
    assert customer["PrimaryEmailAddr"]["Address"] == "ap@globex.example"
    assert customer["BillAddr"]["City"] == "Springfield"
    assert job.qbo_id == customer["Id"]


def test_watched_field_change_sends_sparse_update(qbo_simulator, connected, contact):
    qbo_simulator.clear_log()
    for field, value in (("display_name", "Northwind Analytics Inc"),
                         ("email", "ap@northwind.example"), ("phone", "+1 512-555-0199"),
                         ("city", "Dallas")):
        setattr(contact, field, value)
        contact.save()
    [customer] = qbo(qbo_simulator, "Customer")
    assert customer["DisplayName"] == "Northwind Analytics Inc"
    assert customer["PrimaryEmailAddr"]["Address"] == "ap@northwind.example"
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+1 512-555-0199"
    assert customer["BillAddr"]["City"] == "Dallas"
    updates = writes(qbo_simulator, "customer")
    assert len(updates) == 4
    assert all('"sparse": true' in r.body for r in updates)
    # Only the changed field travels.
    assert "Dallas" in updates[-1].body and "DisplayName" not in updates[-1].body


def test_save_changing_nothing_watched_queues_nothing(qbo_simulator, connected, contact):
    before = SyncJob.objects.count()
    contact.save()  # nothing changed
    Contact.objects.get(pk=contact.pk).save()  # a fresh instance, nothing changed
    assert SyncJob.objects.count() == before


def test_draft_never_syncs(qbo_simulator, connected, contact):
    invoice = make_invoice(contact)
    invoice.memo = "edited draft"
    invoice.save()
    assert job_for(invoice) is None
    assert qbo(qbo_simulator, "Invoice") == []


def test_sent_invoice_is_created(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert (job.action, job.status) == ("create", "succeeded")
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert qinv["DocNumber"] == "INV-00001"
    assert qinv["TxnDate"] == invoice.issue_date.isoformat()
    assert qinv["DueDate"] == invoice.due_date.isoformat()
    assert Decimal(str(qinv["TotalAmt"])) == invoice.total


def test_header_edit_updates_while_unpaid(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    invoice.memo = "Thanks for your business"
    invoice.due_date = invoice.due_date + timedelta(days=5)
    invoice.save()
    job = job_for(invoice)
    assert (job.action, job.status) == ("update", "succeeded")
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert qinv["CustomerMemo"]["value"] == "Thanks for your business"
    assert qinv["DueDate"] == invoice.due_date.isoformat()
    assert qinv["DocNumber"] == "INV-00001"


def test_line_edit_updates(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    line = invoice.lines.first()
    line.quantity = Decimal("4")
    line.save()
    InvoiceLine.objects.create(invoice=invoice, position=5, category="support",
                               description="Hosting", quantity=Decimal("1"),
                               unit_price=Decimal("10.00"))
    [qinv] = qbo(qbo_simulator, "Invoice")
    invoice.refresh_from_db()
    sales = [ln for ln in qinv["Line"] if ln["DetailType"] == "SalesItemLineDetail"]
    assert len(sales) == 3
    assert Decimal(str(qinv["TotalAmt"])) == invoice.total
    assert job_for(invoice).action == "update"


def test_voided_invoice_is_voided_never_deleted(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    invoice.void()
    job = job_for(invoice)
    assert (job.action, job.status) == ("void", "succeeded")
    [qinv] = qbo(qbo_simulator, "Invoice")  # still there
    assert Decimal(str(qinv["TotalAmt"])) == 0
    assert not [r for r in qbo_simulator.requests_log
                if r.query.get("operation") == "delete"]
    assert [r for r in qbo_simulator.requests_log if r.query.get("operation") == "void"]
    assert EntityLink.objects.get(qbo_type="Invoice").qbo_status == "void"


def test_voiding_a_draft_queues_nothing(qbo_simulator, connected, contact):
    invoice = make_invoice(contact)
    invoice.void()
    assert job_for(invoice) is None


def test_invoice_dated_before_connection_syncs_only_through_history(
        qbo_simulator, connected, contact):
    old = timezone.localdate() - timedelta(days=60)
    invoice = send_invoice(contact, issue_date=old, due_date=old + timedelta(days=30))
    assert job_for(invoice) is None
    assert qbo(qbo_simulator, "Invoice") == []
    with transaction.atomic():
        job = outbox.enqueue("invoice", invoice)
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert len(qbo(qbo_simulator, "Invoice")) == 1
    # Once linked, later edits of the old invoice do sync.
    invoice.memo = "late edit"
    invoice.save()
    assert qbo(qbo_simulator, "Invoice")[0]["CustomerMemo"]["value"] == "late edit"


def test_disconnected_workspace_queues_nothing(qbo_simulator, us_workspace, contact):
    assert jobs() == []
