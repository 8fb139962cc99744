"""An invoice marked paid in the app without payment records for all of it gets a
payment for the rest pushed, once (PAID_WITHOUT_PAYMENT = "push", the default), or is
left for reconciliation to report ("report")."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.test import override_settings

from qbo_sync.models import EntityLink, SyncJob
from qbo_sync.reconcile.repair import repair
from tests.reconcile.conftest import kinds, reconcile

from .conftest import qbo, run_due, send_invoice


def _settles() -> list[SyncJob]:
    return list(SyncJob.objects.filter(action="settle").order_by("pk"))


def test_marked_paid_without_a_payment_pushes_one_for_the_open_balance(qbo_simulator,
                                                                       connected, contact):
    invoice = send_invoice(contact)
    invoice.record_payment(Decimal("100.00"))
    invoice.mark_paid()  # "Mark selected invoices paid": the rest was paid outside the app
    [job] = _settles()
    assert job.status == "succeeded", job.error_message
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert qinv["Balance"] == 0
    amounts = sorted(p["TotalAmt"] for p in qbo(qbo_simulator, "Payment"))
    assert amounts == [Decimal("100.00"), qinv["TotalAmt"] - Decimal("100.00")]
    settle = next(p for p in qbo(qbo_simulator, "Payment") if p["TotalAmt"] != 100)
    assert f"[qbo_sync settle {invoice.pk}]" in settle["PrivateNote"]
    assert "Recorded as paid in the app" in settle["PrivateNote"]
    assert EntityLink.objects.get(variant="settle").qbo_id == settle["Id"]
    # Running it again (a redelivered task) pays nothing twice.
    SyncJob.objects.filter(pk=job.pk).update(status="pending")
    assert run_due(job) == "skipped"
    assert len(qbo(qbo_simulator, "Payment")) == 2
    assert reconcile(connected).found == 0


def test_paid_by_its_payments_pushes_nothing_more(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    invoice.record_payment(Decimal("1439.79"))  # marks it paid itself
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    assert _settles() == []
    assert len(qbo(qbo_simulator, "Payment")) == 1


def test_report_leaves_it_to_reconciliation_and_its_repair_pushes_it(qbo_simulator,
                                                                     connected, contact):
    invoice = send_invoice(contact)
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "PAID_WITHOUT_PAYMENT": "report"}):
        invoice.mark_paid()
        assert _settles() == []
        run = reconcile(connected)
        assert kinds(run) == ["paid_in_app"]
        assert run.differences.get().repairs == ["ignore"]
    run = reconcile(connected)
    diff = run.differences.get()
    assert diff.repairs == ["push", "ignore"]
    [job] = repair(diff, "push")
    job.refresh_from_db()
    assert (job.action, job.status) == ("settle", "succeeded"), job.error_message
    assert qbo(qbo_simulator, "Invoice")[0]["Balance"] == 0
    assert reconcile(connected).found == 0
