"""Payments, credit memos and refunds (docs/qbo-rules.md §5.3–§5.5)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from example_project.billing.models import Invoice

from .conftest import job_for, make_credit_memo, make_refund, qbo, send_invoice


def _qbo_invoice(sim) -> dict:
    [inv] = qbo(sim, "Invoice")
    return inv


def test_full_payment_links_the_invoice_and_uses_the_deposit_account(qbo_simulator,
                                                                      connected, contact):
    invoice = send_invoice(contact)
    payment = invoice.record_payment(invoice.total, reference="CHK-1001", method="check")
    job = job_for(payment)
    assert (job.entity, job.action, job.status) == ("payment", "sync_payment", "succeeded")
    [qpay] = qbo(qbo_simulator, "Payment")
    qinv = _qbo_invoice(qbo_simulator)
    assert qpay["Line"][0]["LinkedTxn"] == [{"TxnId": qinv["Id"], "TxnType": "Invoice"}]
    assert qpay["DepositToAccountRef"]["value"] == connected.default_deposit_account_id
    assert Decimal(str(qpay["TotalAmt"])) == invoice.total
    assert qpay["PaymentRefNum"] == "CHK-1001"
    assert Decimal(str(qinv["Balance"])) == 0
    assert Invoice.objects.get(pk=invoice.pk).status == "paid"


def test_partial_and_several_payments(qbo_simulator, connected, contact):
    invoice = send_invoice(contact)
    total = invoice.total
    first = invoice.record_payment(Decimal("300.00"))
    assert Decimal(str(_qbo_invoice(qbo_simulator)["Balance"])) == total - Decimal("300.00")
    second = invoice.record_payment(Decimal("200.00"))
    third = invoice.record_payment(total - Decimal("500.00"))
    for payment in (first, second, third):
        assert job_for(payment).status == "succeeded", job_for(payment).error_message
    payments = qbo(qbo_simulator, "Payment")
    assert sorted(Decimal(str(p["TotalAmt"])) for p in payments) == sorted(
        [Decimal("300.00"), Decimal("200.00"), total - Decimal("500.00")])
    assert Decimal(str(_qbo_invoice(qbo_simulator)["Balance"])) == 0


def test_credit_memo_becomes_a_credit_memo(qbo_simulator, connected, contact):
    memo = make_credit_memo(contact, number="CM-7", memo="Sorry for the delay")
    job = job_for(memo)
    assert (job.entity, job.action, job.status) == ("credit_memo", "credit_memo", "succeeded")
    [qcm] = qbo(qbo_simulator, "CreditMemo")
    assert qcm["DocNumber"] == "CM-7"
    assert Decimal(str(qcm["TotalAmt"])) == Decimal("50.00")
    assert qcm["CustomerRef"]["value"] == qbo(qbo_simulator, "Customer")[0]["Id"]
    assert qcm["CustomerMemo"]["value"] == "Sorry for the delay"
    assert job.qbo_id == qcm["Id"]


def test_credit_memo_line_edit_updates_it(qbo_simulator, connected, contact):
    memo = make_credit_memo(contact)
    with transaction.atomic():
        line = memo.lines.first()
        line.unit_price = Decimal("75.00")
        line.save()
    [qcm] = qbo(qbo_simulator, "CreditMemo")
    assert Decimal(str(qcm["TotalAmt"])) == Decimal("75.00")


def test_refund_becomes_a_refund_receipt(qbo_simulator, connected, contact):
    refund = make_refund(contact, reference="BACS-77", method="bank_transfer")
    job = job_for(refund)
    assert (job.entity, job.action, job.status) == ("refund", "refund", "succeeded")
    [qrr] = qbo(qbo_simulator, "RefundReceipt")
    assert qrr["DepositToAccountRef"]["value"] == connected.default_deposit_account_id
    assert Decimal(str(qrr["TotalAmt"])) == Decimal("80.00")
    assert qrr["PaymentRefNum"] == "BACS-77"
    assert "bank_transfer" in qrr.get("PrivateNote", "")


def test_refund_without_deposit_account_names_the_setting(qbo_simulator, connected,
                                                          contact):
    connected.default_deposit_account_id = ""
    connected.save()
    refund = make_refund(contact)
    job = job_for(refund)
    assert job.status == "failed"
    assert "Settings → Default Deposit Account" in job.error_message
    assert qbo(qbo_simulator, "RefundReceipt") == []
