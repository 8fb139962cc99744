"""The chaos run's reconciliation finds what it claims to find (a check that cannot fail
would make its clean table worthless)."""

from __future__ import annotations

import copy
from decimal import Decimal

from benchmarks.chaos_reconcile import MUST_BE_ZERO, reconcile
from example_project.billing.models import Payment
from qbo_sync.models import EntityLink, SyncJob
from qbo_sync.testing.simulator.companies import US_REALM

from .conftest import job_for, qbo, send_invoice


def _problems(sim, conn) -> dict[str, list[str]]:
    return {k: v for k, v in reconcile(sim, conn).items() if k in MUST_BE_ZERO and v}


def test_a_clean_sync_reconciles_clean(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    invoice.record_payment(Decimal("100.00"))
    voided = send_invoice(contact, number="INV-00002")
    voided.void()
    assert _problems(qbo_simulator, connected) == {}


def test_each_kind_of_damage_is_found(qbo_simulator, connected, contact):
    invoice = send_invoice(contact, memo="Current memo")
    payment = invoice.record_payment(Decimal("100.00"))
    voided = send_invoice(contact, number="INV-00002")
    store = qbo_simulator.store
    # A second QBO invoice carrying the first one's marker: a duplicate create.
    twin = copy.deepcopy(qbo(qbo_simulator, "Invoice")[0])
    twin.pop("Id")
    store.save(US_REALM, "Invoice", twin, "Create", notify=False)
    # QBO kept an older memo and total (a lost update).
    record = store.raw(US_REALM, "Invoice", EntityLink.objects.get(
        object_id=str(invoice.pk), qbo_type="Invoice").qbo_id)
    record["CustomerMemo"] = {"value": "Older memo"}
    record["TotalAmt"] = Decimal("1.00")
    # Voided in the app, never voided in QBO.
    from qbo_sync import receivers

    with receivers.muted():
        voided.void()
    # Our payment imported back, and a job left running.
    Payment.objects.create(invoice=invoice, amount=Decimal("100.00"), source="quickbooks",
                           external_ref=EntityLink.objects.get(qbo_type="Payment").qbo_id)
    SyncJob.objects.filter(pk=job_for(payment).pk).update(status="running")

    found = _problems(qbo_simulator, connected)
    assert any("×2" in row for row in found["duplicates in QuickBooks"])
    assert any("imported back" in row for row in found["duplicates in the app"])
    assert any("Older memo" in row for row in found["lost updates"])
    assert any("INV-00001" in row for row in found["mismatched totals"])
    assert any("INV-00002" in row for row in found["lost voids"])
    assert found["stuck jobs"]


def test_a_parked_job_on_a_connected_company_is_stuck(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    SyncJob.objects.filter(pk=job_for(invoice).pk).update(status="parked")
    assert any("parked" in row for row in _problems(qbo_simulator, connected)["stuck jobs"])
