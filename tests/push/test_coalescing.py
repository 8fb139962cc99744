"""Coalescing, unchanged records, paid invoices, the Sync Health record and signals."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from example_project.billing.models import InvoiceLine
from qbo_sync import signals
from qbo_sync.models import EntityLink, SyncAttempt, SyncJob
from qbo_sync.sync import engine, outbox
from qbo_sync.testing.simulator.companies import US_REALM

from .conftest import job_for, jobs, make_invoice, qbo, send_invoice, writes


def test_unchanged_record_is_not_sent_again(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    qbo_simulator.clear_log()
    with transaction.atomic():
        job = outbox.enqueue("invoice", invoice)  # e.g. a manual re-sync
    job.refresh_from_db()
    assert job.status == "skipped"
    assert "No change since the last sync" in job.error_message
    assert writes(qbo_simulator) == []
    with transaction.atomic():
        cjob = outbox.enqueue("contact", contact)
    cjob.refresh_from_db()
    assert cjob.status == "skipped"
    assert writes(qbo_simulator) == []


def test_burst_of_saves_coalesces_into_one_job(qbo_simulator, connected, contact,
                                               monkeypatch):
    dispatched: list[int] = []
    monkeypatch.setattr(outbox, "dispatch", dispatched.append)
    for n in range(5):
        contact.phone = f"555-01{n:02d}"
        contact.save()
    # The first create is still waiting, so every save rode on it.
    assert len(jobs(entity="contact", status="pending")) == 1
    assert len(set(dispatched)) == 1


def test_twenty_quick_edits_one_create_few_updates_same_final_state(
        qbo_simulator, connected, contact, monkeypatch):
    assert job_for(contact).status == "succeeded"
    dispatched: list[int] = []
    monkeypatch.setattr(outbox, "dispatch", dispatched.append)
    invoice = send_invoice(contact)
    line = invoice.lines.first()
    for n in range(20):
        if n == 10:
            # The worker catches up once in the middle of the burst.
            for job_id in dict.fromkeys(dispatched):
                engine.run_job(job_id)
        invoice.memo = f"Edit {n}"
        invoice.save()
        line.quantity = Decimal(n + 1)
        line.save()
    for job_id in dict.fromkeys(dispatched):
        engine.run_job(job_id)
    posts = writes(qbo_simulator, "invoice")
    creates = [r for r in posts if '"Id"' not in r.body]
    assert len(creates) == 1
    assert len(posts) <= 3
    assert SyncJob.objects.filter(entity="invoice").count() <= 3
    [qinv] = qbo(qbo_simulator, "Invoice")
    invoice.refresh_from_db()
    assert qinv["CustomerMemo"]["value"] == "Edit 19" == invoice.memo
    assert Decimal(str(qinv["TotalAmt"])) == invoice.total
    first = next(ln for ln in qinv["Line"] if ln["DetailType"] == "SalesItemLineDetail")
    assert Decimal(str(first["SalesItemLineDetail"]["Qty"])) == Decimal(20)


def test_invoice_paid_in_qbo_is_not_overwritten(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    qinv = qbo(qbo_simulator, "Invoice")[0]
    qbo_simulator.accountant.record_payment(US_REALM, qinv["Id"],
                                                  Decimal(str(qinv["TotalAmt"])))
    before = qbo(qbo_simulator, "Invoice")[0]
    qbo_simulator.clear_log()
    InvoiceLine.objects.create(invoice=invoice, position=9, description="Extra",
                               quantity=Decimal("1"), unit_price=Decimal("99.00"))
    job = job_for(invoice)
    assert job.status == "skipped"
    assert "Already paid in QuickBooks" in job.error_message
    assert qbo(qbo_simulator, "Invoice")[0] == before
    # The update went with our last SyncToken; the payment had moved it on, so QBO
    # refused it (5010) and changed nothing; only then was the invoice read.
    assert [w.status for w in writes(qbo_simulator, "invoice")] == [400]
    assert EntityLink.objects.get(qbo_type="Invoice").qbo_status == "paid"


def test_job_records_everything_sync_health_shows(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.entity == "invoice"
    assert job.action == "create"
    assert job.direction == "push"
    assert job.status == "succeeded"
    assert job.attempts == 1
    assert job.error == {}
    assert job.payload["DocNumber"] == "INV-00001"
    assert job.response["Id"] == job.qbo_id
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at
    assert job.duration_ms is not None
    assert job.request_id.startswith("qs-")
    [attempt] = SyncAttempt.objects.filter(job=job)
    assert attempt.ok and attempt.number == 1
    # A failure records the error too.
    connected.default_item_id = ""
    connected.save()
    invoice.memo = "x"
    invoice.save()
    failed = job_for(invoice)
    assert failed.pk != job.pk and failed.status == "failed"
    assert failed.error["type"] == "ConfigurationError"
    assert failed.error["fix"].startswith("Settings → Default Item")


def test_public_signals_fire(qbo_simulator, connected, contact):
    seen: dict[str, list] = {"ok": [], "failed": [], "invoice": []}

    def ok(sender, job, qbo_id, **kw):
        seen["ok"].append((job.entity, qbo_id))

    def failed(sender, job, error, **kw):
        seen["failed"].append((job.entity, error.fix))

    def synced(sender, job, obj, qbo_id, **kw):
        seen["invoice"].append((obj.pk, qbo_id, job.action))

    signals.sync_succeeded.connect(ok)
    signals.sync_failed.connect(failed)
    signals.invoice_synced.connect(synced)
    try:
        invoice = send_invoice(contact)
        invoice.memo = "changed"
        invoice.save()
        connected.default_item_id = ""
        connected.save()
        send_invoice(contact, number="INV-00002")
    finally:
        signals.sync_succeeded.disconnect(ok)
        signals.sync_failed.disconnect(failed)
        signals.invoice_synced.disconnect(synced)
    qid = EntityLink.objects.get(qbo_type="Invoice").qbo_id
    assert ("invoice", qid) in seen["ok"]
    assert seen["invoice"] == [(invoice.pk, qid, "create"), (invoice.pk, qid, "update")]
    assert [(e, fix.split(" or ")[0]) for e, fix in seen["failed"]] == [
        ("invoice", "Settings → Default Item")]


def test_draft_edits_then_send_is_one_create(qbo_simulator, connected, contact):
    invoice = make_invoice(contact)
    for n in range(3):
        invoice.memo = f"draft {n}"
        invoice.save()
    invoice.send()
    assert [j.action for j in jobs(entity="invoice")] == ["create"]
    assert len(writes(qbo_simulator, "invoice")) == 1


def test_an_update_with_nothing_changed_in_qbo_reads_nothing(qbo_simulator, connected,
                                                              contact):
    invoice = send_invoice(contact)
    qbo_simulator.clear_log()
    InvoiceLine.objects.create(invoice=invoice, position=9, description="Extra",
                               quantity=Decimal("1"), unit_price=Decimal("99.00"))
    job = job_for(invoice)
    assert (job.action, job.status) == ("update", "succeeded"), job.error_message
    assert [r.method for r in qbo_simulator.requests_log
            if r.realm and "/invoice" in r.path] == ["POST"]  # one write, no read


def test_a_void_uses_the_stored_sync_token(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    qbo_simulator.clear_log()
    invoice.void()
    assert job_for(invoice).status == "succeeded", job_for(invoice).error_message
    assert [r.method for r in qbo_simulator.requests_log
            if r.realm and "/invoice" in r.path] == ["POST"]  # the void, no read
    assert qbo(qbo_simulator, "Invoice")[0]["TotalAmt"] == 0


def test_a_void_after_someone_saved_the_invoice_reads_once(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    qinv = qbo(qbo_simulator, "Invoice")[0]
    qbo_simulator.bump_sync_token(US_REALM, "Invoice", qinv["Id"])
    qbo_simulator.clear_log()
    invoice.void()
    assert job_for(invoice).status == "succeeded", job_for(invoice).error_message
    calls = [(r.method, r.status) for r in qbo_simulator.requests_log
             if r.realm and "/invoice" in r.path]
    assert calls == [("POST", 400), ("GET", 200), ("POST", 200)]
    assert qbo(qbo_simulator, "Invoice")[0]["PrivateNote"].startswith("Voided")
