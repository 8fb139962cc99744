"""A synced invoice or payment deleted in the app is voided in QuickBooks (or deleted,
per INVOICE_DELETE), through the outbox and exactly once; one that never reached
QuickBooks costs nothing (docs/reconciliation.md, "The flows that reach QuickBooks")."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings

from example_project.billing.models import Invoice, Payment
from qbo_sync.models import EntityLink, LinkStatus, SyncJob
from qbo_sync.receivers import muted

from .conftest import job_for, make_invoice, qbo, run_due, send_invoice


def _invoice_job(pk: int) -> SyncJob:
    return SyncJob.objects.filter(entity="invoice", object_id=str(pk)).order_by("-pk").first()


def test_deleting_a_synced_invoice_voids_it(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    pk = invoice.pk
    invoice.delete()
    job = _invoice_job(pk)
    assert (job.status, job.action) == ("succeeded", "void"), job.error_message
    [record] = qbo(qbo_simulator, "Invoice")
    assert record["TotalAmt"] == 0 and record["PrivateNote"].startswith("Voided")
    assert EntityLink.objects.get(qbo_type="Invoice").qbo_status == LinkStatus.VOID
    assert "deleted in the app; voided it in QuickBooks" in job.error_message


def test_invoice_delete_setting_delete_and_keep(qbo_simulator, connected, contact):
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "INVOICE_DELETE": "delete"}):
        first = send_invoice(contact, number="INV-00001")
        pk = first.pk
        first.delete()
    job = _invoice_job(pk)
    assert (job.status, job.action) == ("succeeded", "delete"), job.error_message
    assert qbo(qbo_simulator, "Invoice") == []
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "INVOICE_DELETE": "keep"}):
        second = send_invoice(contact, number="INV-00002")
        pk = second.pk
        second.delete()
    assert _invoice_job(pk).action == "sync"  # only its push: nothing queued by the delete
    assert [r["DocNumber"] for r in qbo(qbo_simulator, "Invoice")] == ["INV-00002"]


def test_deleting_a_payment_voids_it_and_the_balance_opens_again(qbo_simulator, connected,
                                                                  contact):
    invoice = send_invoice(contact)
    pay = invoice.record_payment(Decimal("100.00"))
    assert job_for(pay).status == "succeeded"
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert qinv["Balance"] == qinv["TotalAmt"] - Decimal("100.00")
    pk = pay.pk
    pay.delete()
    job = SyncJob.objects.filter(entity="payment", object_id=str(pk)).order_by("-pk").first()
    assert (job.status, job.action) == ("succeeded", "void"), job.error_message
    [qpay] = qbo(qbo_simulator, "Payment")
    assert qpay["TotalAmt"] == 0
    assert qbo(qbo_simulator, "Invoice")[0]["Balance"] == qinv["TotalAmt"]


def test_deleting_an_invoice_with_payments_removes_all_of_them(qbo_simulator, connected,
                                                               contact):
    invoice = send_invoice(contact)
    invoice.record_payment(Decimal("100.00"))
    invoice.record_payment(Decimal("50.00"))
    invoice.delete()  # its payments go with it (CASCADE)
    assert not SyncJob.objects.exclude(status="succeeded").exists()
    assert all(p["TotalAmt"] == 0 for p in qbo(qbo_simulator, "Payment"))
    assert len(qbo(qbo_simulator, "Payment")) == 2
    assert qbo(qbo_simulator, "Invoice")[0]["TotalAmt"] == 0
    assert Payment.objects.count() == 0


def test_a_record_that_never_reached_quickbooks_costs_nothing(qbo_simulator, connected,
                                                              contact):
    draft = make_invoice(contact)
    before = SyncJob.objects.count()
    draft.delete()
    assert SyncJob.objects.count() == before
    with muted():
        sent = send_invoice(contact, number="INV-00009")
        sent.delete()
    assert not SyncJob.objects.filter(object_id=str(sent.pk)).exists()


def test_deleted_while_its_create_is_waiting_creates_nothing(qbo_simulator, connected,
                                                             contact):
    qbo_simulator.inject("error", status=503, method="POST", path="/invoice$")
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "pending"  # a 5xx before anything was written: retried later
    invoice.delete()
    job.refresh_from_db()
    assert job.action == "void"  # the waiting job now carries the delete
    assert run_due(job) == "skipped"
    assert qbo(qbo_simulator, "Invoice") == []


def test_deleted_after_a_create_whose_answer_was_lost_voids_what_qbo_made(
        qbo_simulator, connected, contact):
    from datetime import timedelta

    from django.utils import timezone

    assert job_for(contact).status == "succeeded"
    qbo_simulator.inject("drop", method="POST", path="/invoice$", after_execute=True)
    invoice = send_invoice(contact)
    link = EntityLink.objects.get(qbo_type="Invoice")
    assert (link.qbo_status, link.qbo_id) == ("creating", "")
    EntityLink.objects.filter(pk=link.pk).update(updated_at=timezone.now() - timedelta(days=1))
    invoice.delete()
    job = _invoice_job(link.object_id)
    if job.status == "pending":
        run_due(job)
        job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    [record] = qbo(qbo_simulator, "Invoice")
    assert record["TotalAmt"] == 0
    assert "found it by its marker" in job.error_message


@pytest.mark.parametrize("value", ["archive", "", 3])
def test_a_wrong_invoice_delete_setting_is_a_system_check(value):
    from qbo_sync.checks import check_settings

    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "INVOICE_DELETE": value}):
        found = [m for m in check_settings(None) if "INVOICE_DELETE" in m.msg]
    assert found and "void" in found[0].hint


__all__ = ["Invoice"]


def test_archiving_a_contact_makes_its_customer_inactive_and_back(qbo_simulator, connected,
                                                                  contact):
    assert job_for(contact).status == "succeeded"
    contact.archived = True
    contact.save()
    assert job_for(contact).status == "succeeded", job_for(contact).error_message
    [customer] = qbo(qbo_simulator, "Customer")
    assert customer["Active"] is False
    contact.archived = False
    contact.save()
    assert qbo(qbo_simulator, "Customer")[0]["Active"] is True


def test_archiving_a_contact_with_an_open_invoice_says_what_to_do(qbo_simulator, connected,
                                                                  contact):
    send_invoice(contact)
    contact.archived = True
    contact.save()
    job = job_for(contact)
    assert job.status == "failed"
    assert "open balance; settle or void its invoices" in job.error_message
    assert qbo(qbo_simulator, "Customer")[0]["Active"] is True


def test_deleting_a_contact_makes_its_customer_inactive(qbo_simulator, connected, contact):
    assert job_for(contact).status == "succeeded"
    pk = contact.pk
    contact.delete()
    job = SyncJob.objects.filter(entity="contact", object_id=str(pk)).order_by("-pk").first()
    assert (job.status, job.action) == ("succeeded", "deactivate"), job.error_message
    assert qbo(qbo_simulator, "Customer")[0]["Active"] is False
    assert "made 1 QuickBooks customer(s) inactive" in job.error_message
