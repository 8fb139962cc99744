"""Exactly once: lost responses, timeouts, requestid, dead workers
(docs/architecture.md, invariant 2)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from qbo_sync.models import EntityLink, SyncAttempt, SyncJob
from qbo_sync.sync import engine, outbox

from .conftest import job_for, make_invoice, qbo, run_due, send_invoice, writes


def _linked_customer(sim, contact) -> None:
    """Push the contact first so invoice tests only exercise the invoice."""
    assert job_for(contact).status == "succeeded"
    sim.clear_log()


def test_response_lost_after_commit_still_one_invoice(qbo_simulator, connected, contact):
    _linked_customer(qbo_simulator, contact)
    qbo_simulator.inject("drop", method="POST", path="/invoice$", after_execute=True)
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "pending"  # network error: retried by itself
    assert job.attempts == 1
    assert len(qbo(qbo_simulator, "Invoice")) == 1  # QBO did commit it
    assert run_due(job) == "succeeded"
    assert len(qbo(qbo_simulator, "Invoice")) == 1
    job.refresh_from_db()
    assert job.qbo_id == qbo(qbo_simulator, "Invoice")[0]["Id"]
    assert EntityLink.objects.get(qbo_type="Invoice").qbo_id == job.qbo_id


def test_lost_response_without_requestid_replay_is_found_by_probe(qbo_simulator, connected,
                                                                    contact):
    """Even if QBO forgot the requestid, the look-up before creating again finds it."""
    _linked_customer(qbo_simulator, contact)
    qbo_simulator.inject("drop", method="POST", path="/invoice$", after_execute=True)
    invoice = send_invoice(contact)
    job = job_for(invoice)
    # Make the retry use another requestid, as if QBO's memory of it had expired.
    from qbo_sync.push import write

    original = write.request_id
    try:
        write.request_id = lambda *parts: original(*parts, "forgotten")
        assert run_due(job) == "succeeded"
    finally:
        write.request_id = original
    assert len(qbo(qbo_simulator, "Invoice")) == 1
    job.refresh_from_db()
    assert "already created" in job.error_message


def test_timeout_before_execution_creates_once_on_retry(qbo_simulator, connected, contact):
    _linked_customer(qbo_simulator, contact)
    qbo_simulator.inject("timeout", method="POST", path="/invoice$")
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert job.status == "pending"
    assert qbo(qbo_simulator, "Invoice") == []
    assert run_due(job) == "succeeded"
    assert len(qbo(qbo_simulator, "Invoice")) == 1


def test_requestid_sent_on_creates_and_stable_across_retries(qbo_simulator, connected,
                                                             contact):
    _linked_customer(qbo_simulator, contact)
    qbo_simulator.inject("error", status=503, method="POST", path="/invoice$", times=2)
    invoice = send_invoice(contact)
    job = job_for(invoice)
    run_due(job)
    run_due(job)
    job.refresh_from_db()
    assert job.status == "succeeded"
    creates = writes(qbo_simulator, "invoice")
    assert len(creates) == 3
    ids = {r.requestid for r in creates}
    assert len(ids) == 1 and None not in ids
    assert len(next(iter(ids))) <= 50  # docs/qbo-rules.md §2.4
    assert len(qbo(qbo_simulator, "Invoice")) == 1
    # The customer create carried one too.
    assert all(r.requestid for r in writes(qbo_simulator, "customer"))


def test_worker_killed_mid_job_is_swept_and_finishes(qbo_simulator, connected, contact,
                                                      monkeypatch):
    dispatched: list[int] = []
    monkeypatch.setattr(outbox, "dispatch_many",
                        lambda ids: dispatched.extend(ids) or len(ids))
    invoice = make_invoice(contact)
    invoice.send()
    job = job_for(invoice)
    # A worker claims it, then dies before doing anything.
    claimed = engine.claim(job.pk)
    assert claimed is not None and claimed.status == "running"
    assert engine.claim(job.pk) is None  # nobody else may take a live claim
    dispatched.clear()
    outbox.sweep()
    assert job.pk not in dispatched  # a live claim is left alone
    SyncJob.objects.filter(pk=job.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1))
    dispatched.clear()
    assert outbox.sweep() >= 1
    assert job.pk in dispatched
    monkeypatch.undo()
    assert engine.run_job(job.pk) == "succeeded"
    job.refresh_from_db()
    assert job.attempts == 2
    assert len(qbo(qbo_simulator, "Invoice")) == 1


def test_worker_killed_after_qbo_committed(qbo_simulator, connected, contact, monkeypatch):
    """The worker dies between QBO's answer and saving the id: the next one finds it."""
    _linked_customer(qbo_simulator, contact)
    from qbo_sync.sync import links

    real = links.record_write
    calls = {"n": 0}

    def die_once(link, obj, payload, **kw):
        if link.qbo_type == "Invoice" and calls["n"] == 0:
            calls["n"] += 1
            raise SystemExit("worker killed")
        return real(link, obj, payload, **kw)

    monkeypatch.setattr(links, "record_write", die_once)
    dispatched: list[int] = []
    monkeypatch.setattr(outbox, "dispatch", dispatched.append)
    invoice = send_invoice(contact)
    job = job_for(invoice)
    assert dispatched == [job.pk]
    try:
        engine.run_job(job.pk)
    except SystemExit:
        pass
    job.refresh_from_db()
    assert job.status == "running"
    assert len(qbo(qbo_simulator, "Invoice")) == 1
    SyncJob.objects.filter(pk=job.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1))
    # The create mark is younger than the lease; an abandoned job takes it over.
    EntityLink.objects.filter(qbo_type="Invoice").update(
        updated_at=timezone.now() - timedelta(days=1))
    assert engine.run_job(job.pk) == "succeeded"
    assert len(qbo(qbo_simulator, "Invoice")) == 1
    assert SyncAttempt.objects.filter(job=job).count() == 2
