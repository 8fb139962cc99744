"""Batch writes (sync/batch.py): due pushes of one connection claimed together, their
creates sent as ``/batch`` calls of up to 30 items, each answer applied to its own job
as a single call's would be."""

from __future__ import annotations

import json
import math
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from example_project.billing.models import Contact
from qbo_sync.connection.clients import client_for
from qbo_sync.models import EntityLink, SyncAttempt, SyncJob
from qbo_sync.sync import batch, outbox

from .conftest import api_calls, job_for, qbo, send_invoice, writes


@pytest.fixture
def held(monkeypatch):
    """Jobs are written but not handed to a worker: the test runs the worker."""
    queued: list[int] = []

    def hold(ids: list[int]) -> int:
        queued.extend(ids)
        return len(ids)

    monkeypatch.setattr(outbox, "dispatch_many", hold)
    return queued


def _contacts(workspace, n: int, prefix: str = "Customer") -> list[Contact]:
    return [Contact.objects.create(workspace=workspace, display_name=f"{prefix} {i:03d} LLC",
                                   email=f"ap{i}@{prefix.lower()}.example", currency="USD")
            for i in range(n)]


def _batches(sim) -> list[list[str]]:
    """The entity of every item of every /batch call, in the order the calls came."""
    out = []
    for rec in api_calls(sim):
        if rec.path.endswith("/batch"):
            items = json.loads(rec.body)["BatchItemRequest"]
            out.append([next(k for k in item if k not in ("bId", "operation"))
                        for item in items])
    return out


def _settings(**overrides):
    from django.conf import settings

    return override_settings(QBO_SYNC={**settings.QBO_SYNC, **overrides})


def test_due_jobs_go_as_ceil_n_over_30_batch_calls(qbo_simulator, connected, us_workspace,
                                                   held):
    contacts = _contacts(us_workspace, 65)
    qbo_simulator.clear_log()
    with _settings(BATCH_SIZE=100):
        assert batch.run_job(held[0]) == "succeeded"
    assert [len(call) for call in _batches(qbo_simulator)] == [30, 30, 5]
    assert len(_batches(qbo_simulator)) == math.ceil(65 / 30)
    # Nothing else but the company's capabilities, read once for the run.
    others = [r.path.split("/")[4] for r in api_calls(qbo_simulator)
              if not r.path.endswith("/batch")]
    assert sorted(others) == ["companyinfo", "preferences"]
    assert SyncJob.objects.filter(status="succeeded").count() == 65
    assert len(qbo(qbo_simulator, "Customer")) == 65
    by_name = {c["DisplayName"]: c["Id"] for c in qbo(qbo_simulator, "Customer")}
    for contact in contacts:
        link = EntityLink.objects.get(object_id=str(contact.pk), qbo_type="Customer")
        assert link.qbo_id == by_name[contact.display_name]
        assert link.sync_token == "0"
        job = job_for(contact)
        assert job.qbo_id == link.qbo_id and job.attempts == 1
        assert list(job.attempt_log.values_list("number", "ok")) == [(1, True)]


def test_a_worker_claims_at_most_batch_size(qbo_simulator, connected, us_workspace, held):
    _contacts(us_workspace, 40)
    qbo_simulator.clear_log()
    assert batch.run_job(held[0]) == "succeeded"  # BATCH_SIZE 30 by default
    assert [len(call) for call in _batches(qbo_simulator)] == [30]
    assert SyncJob.objects.filter(status="pending").count() == 10
    assert batch.run_job(held[30]) == "succeeded"
    assert [len(call) for call in _batches(qbo_simulator)] == [30, 10]


def test_one_faulted_item_fails_only_its_own_job(qbo_simulator, connected, us_workspace,
                                                 held):
    contacts = _contacts(us_workspace, 3)
    with client_for(connected) as client:  # a vendor holds the second contact's name
        client.create("Vendor", {"DisplayName": contacts[1].display_name})
    qbo_simulator.clear_log()
    assert batch.run_job(held[0]) == "succeeded"
    assert [len(call) for call in _batches(qbo_simulator)] == [3]
    statuses = [job_for(c).status for c in contacts]
    assert statuses == ["succeeded", "failed", "succeeded"]
    failed = job_for(contacts[1])
    assert failed.error["code"] == "6240"
    assert "rename the contact" in failed.error_message  # the single call's explanation
    assert not SyncAttempt.objects.get(job=failed).ok
    names = sorted(c["DisplayName"] for c in qbo(qbo_simulator, "Customer"))
    assert names == [contacts[0].display_name, contacts[2].display_name]


def test_a_faulted_item_is_retried_like_a_single_call(qbo_simulator, connected, us_workspace,
                                                      held, monkeypatch):
    """A transient per-item fault (QBO's 5xx codes inside a 200) retries that job only."""
    from qbo_sync.exceptions import ServerError
    from qbo_sync.qbo.client import QBOClient

    _contacts(us_workspace, 3)
    real = QBOClient.batch

    def second_item_faulted(self, items, **kwargs):
        results = real(self, items, **kwargs)
        results[1] = {"bId": results[1]["bId"], "error": ServerError("System failure")}
        return results

    monkeypatch.setattr(QBOClient, "batch", second_item_faulted)
    batch.run_job(held[0])
    assert [j.status for j in SyncJob.objects.order_by("pk")] == ["succeeded", "pending",
                                                                   "succeeded"]
    retry = SyncJob.objects.order_by("pk")[1]
    assert retry.attempts == 1 and retry.next_attempt_at > timezone.now()
    # Its outcome is unknown (QBO wrote it, the answer was lost): the retry looks first.
    assert EntityLink.objects.get(object_id=retry.object_id).qbo_status == "creating"
    monkeypatch.setattr(QBOClient, "batch", real)
    SyncJob.objects.filter(pk=retry.pk).update(next_attempt_at=timezone.now())
    assert batch.run_job(retry.pk) == "succeeded"
    assert len(qbo(qbo_simulator, "Customer")) == 3  # found by the probe, not created again
    retry.refresh_from_db()
    assert "already created" in retry.error_message


@pytest.mark.parametrize("fault", [{"kind": "drop"},
                                   {"kind": "timeout", "after_execute": True},
                                   {"kind": "error", "status": 503},
                                   {"kind": "timeout"}])
def test_ambiguous_batch_failure_probes_before_any_resend(qbo_simulator, connected,
                                                          us_workspace, held, fault):
    contacts = _contacts(us_workspace, 4)
    qbo_simulator.inject(method="POST", path="/batch$", **fault)
    assert batch.run_job(held[0]) == "pending"
    assert SyncJob.objects.filter(status="pending").count() == 4
    assert set(EntityLink.objects.values_list("qbo_status", flat=True)) == {"creating"}
    executed = fault["kind"] == "drop" or fault.get("after_execute")
    assert len(qbo(qbo_simulator, "Customer")) == (4 if executed else 0)
    qbo_simulator.clear_log()
    SyncJob.objects.update(next_attempt_at=timezone.now())
    assert batch.run_job(held[0]) == "succeeded"
    assert SyncJob.objects.filter(status="succeeded").count() == 4
    assert len(qbo(qbo_simulator, "Customer")) == 4  # no duplicate
    calls = [r.path.rsplit("/", 1)[-1] for r in api_calls(qbo_simulator)]
    # Each unanswered item looked first; only what was not found is sent again.
    assert calls == ["query"] * 4 + ([] if executed else ["batch"])
    for contact in contacts:
        assert job_for(contact).qbo_id


def test_kinds_go_in_dependency_order(qbo_simulator, connected, us_workspace, held):
    contacts = _contacts(us_workspace, 3)
    invoices = [send_invoice(c, number=f"INV-B{i}") for i, c in enumerate(contacts)]
    for invoice in invoices:
        invoice.refresh_from_db()
        invoice.record_payment(Decimal("100.00"), method="check", reference="CHK")
    payment_jobs = SyncJob.objects.filter(entity="payment")
    assert payment_jobs.count() == 3
    qbo_simulator.clear_log()
    with _settings(BATCH_SIZE=100):
        batch.run_job(payment_jobs.first().pk)  # a payment's task starts the run
    assert _batches(qbo_simulator) == [["Customer"] * 3, ["Invoice"] * 3, ["Payment"] * 3]
    assert set(SyncJob.objects.values_list("status", flat=True)) == {"succeeded"}
    invoice_ids = {i["Id"] for i in qbo(qbo_simulator, "Invoice")}
    for payment in qbo(qbo_simulator, "Payment"):
        linked = payment["Line"][0]["LinkedTxn"][0]
        assert linked["TxnType"] == "Invoice" and linked["TxnId"] in invoice_ids
    # Each invoice's balance is what is left after its payment (one payment each).
    assert sorted(Decimal(str(i["Balance"])) for i in qbo(qbo_simulator, "Invoice")) == \
        sorted(inv.total - Decimal("100.00") for inv in invoices)


def test_a_job_alone_goes_at_once_as_a_single_call(qbo_simulator, connected, contact):
    """Nothing else due: no batch, no wait (the job ran inline as it was sent)."""
    invoice = send_invoice(contact)
    assert job_for(invoice).status == "succeeded"
    assert [r.path.rsplit("/", 1)[-1] for r in writes(qbo_simulator)] == ["customer",
                                                                            "invoice"]
    assert _batches(qbo_simulator) == []


def test_jobs_not_due_are_not_claimed(qbo_simulator, connected, us_workspace, held):
    first, later = _contacts(us_workspace, 2)
    SyncJob.objects.filter(pk=held[1]).update(
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=5))
    qbo_simulator.clear_log()
    assert batch.run_job(held[0]) == "succeeded"
    assert _batches(qbo_simulator) == []
    assert [r.path.rsplit("/", 1)[-1] for r in writes(qbo_simulator)] == ["customer"]
    assert job_for(later).status == "pending"


def test_batch_size_one_sends_every_job_alone(qbo_simulator, connected, us_workspace, held):
    _contacts(us_workspace, 3)
    with _settings(BATCH_SIZE=1):
        assert batch.run_job(held[0]) == "succeeded"
    assert SyncJob.objects.filter(status="pending").count() == 2
    assert _batches(qbo_simulator) == []


def test_bids_are_deterministic_and_short(connected):
    job = SyncJob(pk=36 ** 7 - 1, attempts=12)
    assert batch.bid(job) == "zzzzzzz-12"
    assert batch.bid(job) == batch.bid(SyncJob(pk=36 ** 7 - 1, attempts=12))
    assert batch.bid(SyncJob(pk=5, attempts=1)) != batch.bid(SyncJob(pk=5, attempts=2))


def test_batch_items_carry_job_bids_and_the_call_a_requestid(qbo_simulator, connected,
                                                             us_workspace, held):
    _contacts(us_workspace, 3)
    qbo_simulator.clear_log()
    batch.run_job(held[0])
    [call] = [r for r in api_calls(qbo_simulator) if r.path.endswith("/batch")]
    bids = [item["bId"] for item in json.loads(call.body)["BatchItemRequest"]]
    assert bids == [batch.bid(job) for job in SyncJob.objects.order_by("pk")]
    assert 0 < len(call.query["requestid"]) <= 36  # docs/qbo-rules.md §2.4


def test_an_update_in_a_batch_run_goes_as_its_own_call(qbo_simulator, connected, contact,
                                                       us_workspace, held):
    invoice = send_invoice(contact)
    batch.run_job(held[-1])  # the contact and the invoice, created
    assert job_for(invoice).status == "succeeded"
    invoice.memo = "Changed terms"
    invoice.save()
    _contacts(us_workspace, 2, prefix="Later")
    qbo_simulator.clear_log()
    assert batch.run_job(job_for(invoice).pk) == "succeeded"
    # Customers first (dependency order), the update on its own call.
    assert [r.path.rsplit("/", 1)[-1] for r in writes(qbo_simulator)] == ["batch", "invoice"]
    assert _batches(qbo_simulator) == [["Customer", "Customer"]]
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert qinv["CustomerMemo"]["value"] == "Changed terms"
    assert job_for(invoice).action == "update"
