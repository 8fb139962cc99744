"""A pull never imports a payment this app pushed, even while the push's answer is
missing (issue 16, defect 1): QBO holds our marker in the payment's PrivateNote."""

from __future__ import annotations

from decimal import Decimal

import pytest

from qbo_sync.models import EntityLink, SyncJob
from qbo_sync.pull.cycle import pull_connection

from .conftest import job_for, qbo, run_due, send_invoice


def _pull(conn) -> None:
    summary = pull_connection(conn.pk)
    assert "error" not in summary, summary


@pytest.mark.parametrize("when", ["after-dropped-answer", "during-retry"])
def test_pull_meets_our_payment_before_the_push_knows_its_id(qbo_simulator, connected,
                                                             contact, when):
    invoice = send_invoice(contact)
    assert job_for(invoice).status == "succeeded"
    qbo_simulator.inject("drop", method="POST", path="/payment$", after_execute=True)
    payment = invoice.record_payment(Decimal("100.00"))
    job = job_for(payment)
    assert job.status == "pending"
    assert len(qbo(qbo_simulator, "Payment")) == 1  # committed in QBO; the answer was lost
    link = EntityLink.objects.get(qbo_type="Payment")
    assert (link.qbo_status, link.qbo_id) == ("creating", "")
    if when == "during-retry":
        # Another worker has taken the create mark and is retrying right now.
        from django.utils import timezone

        EntityLink.objects.filter(pk=link.pk).update(updated_at=timezone.now())
    _pull(connected)  # as a webhook for the new payment would trigger
    assert invoice.payments.count() == 1
    assert not SyncJob.objects.filter(action="pull_payment").exists()
    if when == "during-retry":
        EntityLink.objects.filter(pk=link.pk).update(
            updated_at=timezone.now() - timezone.timedelta(days=1))
    assert run_due(job) == "succeeded"
    assert len(qbo(qbo_simulator, "Payment")) == 1
    assert EntityLink.objects.get(qbo_type="Payment").qbo_id == qbo(qbo_simulator,
                                                                    "Payment")[0]["Id"]
    _pull(connected)
    assert invoice.payments.count() == 1


def test_pull_before_the_push_answer_arrives(qbo_simulator, connected, contact, monkeypatch):
    """The pull runs between QBO committing the payment and the push reading the answer."""
    from qbo_sync.sync import links

    invoice = send_invoice(contact)
    real = links.record_write
    pulled: list[int] = []

    def pull_first(link, obj, payload, **kw):
        if link.qbo_type == "Payment" and not pulled:
            _pull(connected)
            pulled.append(invoice.payments.count())
        return real(link, obj, payload, **kw)

    monkeypatch.setattr(links, "record_write", pull_first)
    payment = invoice.record_payment(Decimal("40.00"))
    assert job_for(payment).status == "succeeded"
    assert pulled == [1]
    assert invoice.payments.count() == 1


def test_a_payment_with_a_foreign_marker_is_still_imported(qbo_simulator, connected,
                                                           contact):
    """The marker is trusted only for a link of this connection: an accountant's payment
    that happens to quote a marker of no payment of ours is imported as usual."""
    invoice = send_invoice(contact)
    qinv = qbo(qbo_simulator, "Invoice")[0]
    qbo_simulator.accountant.record_payment(connected.realm_id, qinv["Id"], Decimal("25.00"))
    pay_id = qbo(qbo_simulator, "Payment")[0]["Id"]
    qbo_simulator.store.raw(connected.realm_id, "Payment", pay_id)["PrivateNote"] = (
        "Ref [qbo_sync payment 999999]")
    _pull(connected)
    assert invoice.payments.count() == 1
    assert invoice.payments.get().source == "quickbooks"
    assert "999999" in qbo(qbo_simulator, "Payment")[0]["PrivateNote"]
