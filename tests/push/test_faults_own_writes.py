"""A link records what QuickBooks holds, and a lost answer to our own write is ours.

Issue 16, defect 2: an edit made while a create's outcome is unknown must reach QBO
(the retry's probe or ``requestid`` replay returns the older record). Defect 7: an
update whose answer was lost is no accountant's edit.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from qbo_sync.models import EntityLink
from qbo_sync.push import write
from qbo_sync.testing.simulator.companies import US_REALM

from .conftest import job_for, qbo, run_due, send_invoice, writes


def _linked_customer(sim, contact) -> None:
    assert job_for(contact).status == "succeeded"
    sim.clear_log()


def _forget_requestids(monkeypatch) -> None:
    """Every call gets a new requestid, as if QBO's memory of them had expired: a
    retry then meets the record itself (or a 5010) instead of the replayed answer."""
    original, calls = write.request_id, itertools.count()
    monkeypatch.setattr(write, "request_id",
                        lambda *parts: original(*parts, str(next(calls))))


def _invoice_link() -> EntityLink:
    return EntityLink.objects.get(qbo_type="Invoice")


def _assert_settled(sim, invoice) -> None:
    """A further save of unchanged data writes nothing: the link's hash is the host's."""
    before = len(writes(sim, "invoice"))
    invoice.save()
    job = job_for(invoice)
    assert job.status == "succeeded"
    assert len(writes(sim, "invoice")) == before


def test_edit_during_unknown_create_reaches_qbo_via_replay(qbo_simulator, connected, contact):
    _linked_customer(qbo_simulator, contact)
    qbo_simulator.inject("drop", method="POST", path="/invoice$", after_execute=True)
    invoice = send_invoice(contact, memo="Original memo")
    job = job_for(invoice)
    assert job.status == "pending"
    invoice.memo = "Edited while unknown"
    invoice.save()
    assert run_due(job_for(invoice)) == "succeeded"
    stored = qbo(qbo_simulator, "Invoice")
    assert len(stored) == 1
    assert stored[0]["CustomerMemo"]["value"] == "Edited while unknown"
    assert _invoice_link().last_payload["CustomerMemo"]["value"] == "Edited while unknown"
    assert "older version" in job_for(invoice).error_message
    _assert_settled(qbo_simulator, invoice)


def test_edit_during_unknown_create_reaches_qbo_via_probe(qbo_simulator, connected, contact,
                                                           monkeypatch):
    """QBO forgot the requestid: the probe finds the old record, and the lines the host
    changed since are sent as an update."""
    _linked_customer(qbo_simulator, contact)
    qbo_simulator.inject("drop", method="POST", path="/invoice$", after_execute=True)
    invoice = send_invoice(contact)
    line = invoice.lines.order_by("position").first()
    line.unit_price = Decimal("150.00")
    line.save()
    invoice.save()
    original = write.request_id
    monkeypatch.setattr(write, "request_id", lambda *parts: original(*parts, "forgotten"))
    assert run_due(job_for(invoice)) == "succeeded"
    stored = qbo(qbo_simulator, "Invoice")
    assert len(stored) == 1
    invoice.refresh_from_db()
    assert Decimal(str(stored[0]["TotalAmt"])) == invoice.total
    _assert_settled(qbo_simulator, invoice)


def test_create_replay_without_edit_sends_no_update(qbo_simulator, connected, contact):
    _linked_customer(qbo_simulator, contact)
    qbo_simulator.inject("drop", method="POST", path="/invoice$", after_execute=True)
    invoice = send_invoice(contact)
    assert run_due(job_for(invoice)) == "succeeded"
    assert len(writes(qbo_simulator, "invoice")) == 1  # the probe found it: no second write
    assert "older version" not in job_for(invoice).error_message


@pytest.mark.parametrize("replayed", [True, False], ids=["replayed", "5010-reread"])
def test_lost_answer_to_our_update_is_not_a_conflict(qbo_simulator, connected, contact,
                                                     monkeypatch, replayed):
    if not replayed:
        _forget_requestids(monkeypatch)
    _linked_customer(qbo_simulator, contact)
    invoice = send_invoice(contact, memo="First")
    assert job_for(invoice).status == "succeeded"
    qbo_simulator.inject("drop", method="POST", path="/invoice$", after_execute=True)
    invoice.memo = "Second"
    invoice.save()
    job = job_for(invoice)
    assert job.status == "pending"  # the update committed in QBO, its answer was lost
    assert qbo(qbo_simulator, "Invoice")[0]["CustomerMemo"]["value"] == "Second"
    assert run_due(job) == "succeeded"
    if not replayed:
        assert "earlier attempt's answer was lost" in job_for(invoice).error_message
    link = _invoice_link()
    assert link.sync_token == qbo(qbo_simulator, "Invoice")[0]["SyncToken"]
    # The next edit goes through: the link is not a version behind.
    invoice.memo = "Third"
    invoice.save()
    assert job_for(invoice).status == "succeeded"
    assert qbo(qbo_simulator, "Invoice")[0]["CustomerMemo"]["value"] == "Third"


def test_accountant_edit_after_lost_update_is_still_a_conflict(qbo_simulator, connected,
                                                               contact, monkeypatch):
    """The lost-answer rule must not hide a real edit: QBO's record differs from both
    what the app last stored and what it sends now. (QBO has forgotten the update's
    requestid, so the retry meets a 5010 rather than the replayed answer.)"""
    _forget_requestids(monkeypatch)
    _linked_customer(qbo_simulator, contact)
    invoice = send_invoice(contact, memo="First")
    qbo_simulator.inject("drop", method="POST", path="/invoice$", after_execute=True)
    invoice.memo = "Second"
    invoice.save()
    qid = qbo(qbo_simulator, "Invoice")[0]["Id"]
    qbo_simulator.accountant.edit_invoice(US_REALM, qid,
                                          {"CustomerMemo": {"value": "Accountant's memo"}})
    assert run_due(job_for(invoice)) == "failed"
    assert "changed in QuickBooks" in job_for(invoice).error_message


def test_lost_answer_to_customer_update_is_not_a_conflict(qbo_simulator, connected, contact):
    """Customer updates carry no requestid: the retry meets a 5010 and re-reads."""
    assert job_for(contact).status == "succeeded"
    qbo_simulator.inject("drop", method="POST", path="/customer$", after_execute=True)
    contact.email = "accounts@northwind.example"
    contact.save()
    job = job_for(contact)
    assert job.status == "pending"
    assert run_due(job) == "succeeded"
    contact.phone = "+1 512-555-0199"
    contact.save()
    assert job_for(contact).status == "succeeded"
    customer = qbo(qbo_simulator, "Customer")[0]
    assert customer["PrimaryEmailAddr"]["Address"] == "accounts@northwind.example"
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+1 512-555-0199"


def test_contact_edit_during_unknown_create_reaches_qbo(qbo_simulator, connected,
                                                        us_workspace):
    from example_project.billing.models import Contact

    qbo_simulator.inject("drop", method="POST", path="/customer$", after_execute=True)
    contact = Contact.objects.create(workspace=us_workspace, display_name="Fabrikam Ltd",
                                     email="old@fabrikam.example", currency="USD")
    job = job_for(contact)
    assert job.status == "pending"
    contact.email = "new@fabrikam.example"
    contact.save()
    assert run_due(job_for(contact)) == "succeeded"
    customers = [c for c in qbo(qbo_simulator, "Customer")
                 if c["DisplayName"] == "Fabrikam Ltd"]
    assert len(customers) == 1
    assert customers[0]["PrimaryEmailAddr"]["Address"] == "new@fabrikam.example"


def test_payment_amount_edited_during_unknown_create(qbo_simulator, connected, contact):
    _linked_customer(qbo_simulator, contact)
    invoice = send_invoice(contact)
    qbo_simulator.inject("drop", method="POST", path="/payment$", after_execute=True)
    payment = invoice.record_payment(Decimal("100.00"))
    job = job_for(payment)
    assert job.status == "pending"
    payment.amount = Decimal("120.00")
    payment.save()
    assert run_due(job_for(payment)) == "succeeded"
    stored = qbo(qbo_simulator, "Payment")
    assert len(stored) == 1
    assert Decimal(str(stored[0]["TotalAmt"])) == Decimal("120.00")
    assert Decimal(str(stored[0]["Line"][0]["Amount"])) == Decimal("120.00")
