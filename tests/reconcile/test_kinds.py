"""Each kind of difference, made the way it happens (an accountant in QuickBooks, or an
app change that never reached it), is found with its explanation; the offered repair
makes the next run report nothing for that object (docs/reconciliation.md)."""

from __future__ import annotations

from decimal import Decimal

from example_project.billing.models import Invoice, InvoiceLine, Payment
from qbo_sync.models import Difference, EntityLink, ReconciliationRun
from qbo_sync.reconcile.repair import repair
from tests.push.conftest import job_for, qbo, send_invoice

from .conftest import kinds, reconcile


def _pushed(contact, number="INV-00001"):
    invoice = send_invoice(contact, number=number, memo="Thank you for your business.")
    assert job_for(invoice).status == "succeeded", job_for(invoice).error_message
    return invoice, EntityLink.objects.get(qbo_type="Invoice", object_id=str(invoice.pk))


def _only(run: ReconciliationRun) -> Difference:
    [diff] = run.differences.all()
    return diff


def test_a_clean_company_has_no_differences(qbo_simulator, connected, contact):
    for n in range(3):
        _pushed(contact, number=f"INV-{n:05d}")
    run = reconcile(connected)
    assert run.status == "done", run.error
    assert (run.total, run.found, kinds(run)) == (4, 0, [])  # 3 invoices, 1 customer


def test_deleted_in_quickbooks_is_found_and_pushed_again(qbo_simulator, connected, contact,
                                                         realm):
    invoice, link = _pushed(contact)
    qbo_simulator.accountant.delete_invoice(realm, link.qbo_id)
    diff = _only(reconcile(connected))
    assert diff.kind == "missing"
    assert "INV-00001 was deleted in QuickBooks" in diff.explanation
    assert diff.repairs == ["push", "accept", "ignore"]
    [job] = repair(diff, "push")
    job.refresh_from_db()
    assert (job.status, job.action) == ("succeeded", "create"), job.error_message
    assert [q["DocNumber"] for q in qbo(qbo_simulator, "Invoice")] == ["INV-00001"]
    assert reconcile(connected).found == 0


def test_voided_in_quickbooks_is_accepted_into_the_app(qbo_simulator, connected, contact,
                                                       realm):
    invoice, link = _pushed(contact)
    qbo_simulator.accountant.void_invoice(realm, link.qbo_id)
    diff = _only(reconcile(connected))
    assert diff.kind == "voided"
    assert "voided in QuickBooks; the app still has it sent" in diff.explanation
    [job] = repair(diff, "accept")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID
    assert reconcile(connected).found == 0


def test_an_accountants_edit_shows_the_field_and_the_app_version_wins(qbo_simulator,
                                                                      connected, contact,
                                                                      realm):
    invoice, link = _pushed(contact)
    qbo_simulator.accountant.edit_invoice(realm, link.qbo_id,
                                          {"CustomerMemo": {"value": "Pay by Friday"}})
    diff = _only(reconcile(connected))
    assert diff.kind == "edited"
    assert "CustomerMemo.value: QuickBooks has 'Pay by Friday'" in diff.explanation
    [job] = repair(diff, "push")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    [record] = qbo(qbo_simulator, "Invoice")
    assert (record.get("CustomerMemo") or {}).get("value", "") == invoice.memo
    assert reconcile(connected).found == 0


def test_an_accountants_edit_can_be_taken_into_the_app(qbo_simulator, connected, contact,
                                                       realm):
    invoice, link = _pushed(contact)
    qbo_simulator.accountant.edit_invoice(realm, link.qbo_id,
                                          {"CustomerMemo": {"value": "Pay by Friday"}})
    [job] = repair(_only(reconcile(connected)), "accept")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    invoice.refresh_from_db()
    assert invoice.memo == "Pay by Friday"
    # The host's save pushed its (now equal) memo without a conflict.
    assert job_for(invoice, direction="push").status in ("succeeded", "skipped")
    assert reconcile(connected).found == 0


def test_a_total_the_app_changed_without_a_sync(qbo_simulator, connected, contact):
    invoice, _ = _pushed(contact)
    # A bulk update fires no signal: the app's total moves, QuickBooks never hears.
    InvoiceLine.objects.filter(invoice=invoice, category="design").update(
        unit_price=Decimal("130.00"))
    diff = _only(reconcile(connected))
    assert diff.kind == "totals"
    assert "Totals differ: QuickBooks total 1439.79, the app's 1469.79" in diff.explanation
    assert diff.app_value["total"] == "1469.79"
    assert diff.qbo_value["total"] == "1439.79"
    [job] = repair(diff, "push")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert qbo(qbo_simulator, "Invoice")[0]["TotalAmt"] == Decimal("1469.79")
    assert reconcile(connected).found == 0


def test_a_different_customer(qbo_simulator, connected, contact, realm):
    from qbo_sync.connection.clients import client_for

    invoice, link = _pushed(contact)
    with client_for(connected) as client:
        other = client.create("Customer", {"DisplayName": "Someone Else Ltd"})["Id"]
    qbo_simulator.accountant.edit_invoice(realm, link.qbo_id, {"CustomerRef": {"value": other}})
    diff = _only(reconcile(connected))
    assert diff.kind == "customer"
    assert f"billed to QuickBooks customer {other}" in diff.explanation
    [job] = repair(diff, "push")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert reconcile(connected).found == 0


def test_void_in_the_app_open_in_quickbooks_is_voided_there(qbo_simulator, connected,
                                                            contact):
    invoice, _ = _pushed(contact)
    Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.VOID)  # no signal
    diff = _only(reconcile(connected))
    assert (diff.kind, diff.safe_repair) == ("open_in_qbo", "void")
    assert "void in the app but open in QuickBooks (total 1439.79" in diff.explanation
    [job] = repair(diff, "void")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert qbo(qbo_simulator, "Invoice")[0]["TotalAmt"] == 0
    assert reconcile(connected).found == 0


def test_deleted_in_the_app_open_in_quickbooks(qbo_simulator, connected, contact):
    from django.conf import settings
    from django.test import override_settings

    invoice, _ = _pushed(contact)
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "INVOICE_DELETE": "keep"}):
        Invoice.objects.filter(pk=invoice.pk).delete()  # left in QuickBooks on purpose
    diff = _only(reconcile(connected))
    assert diff.kind == "open_in_qbo"
    assert "deleted in the app but is open in QuickBooks" in diff.explanation
    assert diff.repairs == ["ignore"]  # no host row left to carry a void job
    repair(diff, "ignore", reason="voided by hand in QuickBooks next week")
    run = reconcile(connected)
    assert (run.found, run.ignored) == (0, 1)


def test_marked_paid_in_the_app_without_a_payment(qbo_simulator, connected, contact):
    from django.conf import settings
    from django.test import override_settings

    invoice, _ = _pushed(contact)
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "PAID_WITHOUT_PAYMENT": "report"}):
        invoice.mark_paid()  # the example admin's "Mark selected invoices paid"
    diff = _only(reconcile(connected))
    assert diff.kind == "paid_in_app"
    assert ("paid in the app but QuickBooks has 1439.79 open; the app recorded no payment"
            in diff.explanation)
    repair(diff, "ignore", reason="paid in cash, accountant will record it")
    run = reconcile(connected)
    assert (run.found, run.ignored) == (0, 1)


def test_paid_in_quickbooks_is_recorded_in_the_app(qbo_simulator, connected, contact, realm):
    invoice, link = _pushed(contact)
    payment = qbo_simulator.accountant.record_payment(realm, link.qbo_id, Decimal("1439.79"))
    run = reconcile(connected)
    assert kinds(run) == ["paid_in_qbo", "payment_not_in_app"]
    missing = run.differences.get(kind="payment_not_in_app")
    assert f"QuickBooks payment(s) {payment['Id']} are not in the app" in missing.explanation
    [job] = repair(missing, "accept")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert list(invoice.payments.values_list("external_ref", flat=True)) == [payment["Id"]]
    assert reconcile(connected).found == 0


def test_an_app_payment_that_never_reached_quickbooks(qbo_simulator, connected, contact):
    invoice, _ = _pushed(contact)
    # A bulk insert fires no signal: the app has the payment, QuickBooks never heard.
    [pay] = Payment.objects.bulk_create([Payment(invoice=invoice, amount=Decimal("100.00"),
                                                 date=invoice.issue_date)])
    assert job_for(pay) is None
    diff = _only(reconcile(connected))
    assert (diff.kind, diff.entity, diff.object_id, diff.safe_repair) == (
        "payment_not_in_qbo", "payment", str(pay.pk), "push")
    assert "the app's payment of 100.00 is not in QuickBooks (it never reached" \
        in diff.explanation
    [job] = repair(diff, "push")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert reconcile(connected).found == 0
    assert Payment.objects.count() == 1


def test_an_unlinked_invoice_under_the_same_number_is_linked(qbo_simulator, connected,
                                                             contact):
    invoice, link = _pushed(contact)
    qbo_id = link.qbo_id
    link.delete()  # the link was lost: QuickBooks has the invoice, the app no link
    diff = _only(reconcile(connected))
    assert (diff.kind, diff.qbo_id, diff.safe_repair) == ("unlinked", qbo_id, "link")
    assert "same total" in diff.explanation
    [job] = repair(diff, "link")
    job.refresh_from_db()
    assert job.status in ("succeeded", "skipped"), job.error_message
    assert EntityLink.objects.get(qbo_type="Invoice").qbo_id == qbo_id
    assert len(qbo(qbo_simulator, "Invoice")) == 1
    assert reconcile(connected).found == 0


def test_a_line_edited_in_quickbooks_is_shown_line_by_line(qbo_simulator, connected,
                                                           contact, realm):
    invoice, link = _pushed(contact)
    record = qbo(qbo_simulator, "Invoice")[0]
    lines = [dict(ln) for ln in record["Line"] if ln.get("DetailType") ==
             "SalesItemLineDetail"]
    detail = dict(lines[0]["SalesItemLineDetail"], UnitPrice=Decimal("125.00"))
    lines[0] = {**lines[0], "Amount": Decimal("375.00"), "SalesItemLineDetail": detail}
    qbo_simulator.accountant.edit_invoice(realm, link.qbo_id, {"Line": lines})
    diff = _only(reconcile(connected))
    assert diff.kind == "edited"
    assert "line 1: QuickBooks 3 × 125 = 375 (item" in diff.explanation
    assert "the app sent 3 × 120 = 360 (item" in diff.explanation
