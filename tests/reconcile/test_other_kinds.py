"""Credit memos, refund receipts and customers are compared too: a total the app changed
without a sync, a customer made inactive or edited in QuickBooks; each repaired by
pushing the app's version."""

from __future__ import annotations

from decimal import Decimal

from example_project.billing.models import CreditMemoLine, RefundLine
from qbo_sync.connection.clients import client_for
from qbo_sync.models import EntityLink
from qbo_sync.reconcile.repair import repair
from tests.push.conftest import job_for, make_credit_memo, make_refund, qbo

from .conftest import kinds, reconcile


def _customer(connected, contact) -> EntityLink:
    assert job_for(contact).status == "succeeded"
    return EntityLink.objects.get(qbo_type="Customer", object_id=str(contact.pk))


def test_a_customer_made_inactive_in_quickbooks_is_found_and_made_active(
        qbo_simulator, connected, contact):
    link = _customer(connected, contact)
    with client_for(connected) as client:
        current = client.read("Customer", link.qbo_id)
        client.update("Customer", {"Id": link.qbo_id, "SyncToken": current["SyncToken"],
                                   "sparse": True, "Active": False}, sparse=True)
    run = reconcile(connected)
    [diff] = run.differences.all()
    assert (diff.kind, diff.entity) == ("inactive", "contact")
    assert "'Northwind Analytics LLC''s customer was made inactive" in diff.explanation
    [job] = repair(diff, "push")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert qbo(qbo_simulator, "Customer")[0]["Active"] is True
    assert reconcile(connected).found == 0


def test_a_customer_edited_in_quickbooks_shows_the_fields(qbo_simulator, connected, contact):
    link = _customer(connected, contact)
    with client_for(connected) as client:
        current = client.read("Customer", link.qbo_id)
        client.update("Customer", {"Id": link.qbo_id, "SyncToken": current["SyncToken"],
                                   "sparse": True, "CompanyName": "Northwind Holdings"},
                      sparse=True)
    [diff] = reconcile(connected).differences.all()
    assert diff.kind == "edited"
    assert "CompanyName: QuickBooks has 'Northwind Holdings'" in diff.explanation
    [job] = repair(diff, "push")
    job.refresh_from_db()
    assert job.status == "succeeded", job.error_message
    assert qbo(qbo_simulator, "Customer")[0]["CompanyName"] == "Northwind Analytics LLC"
    assert reconcile(connected).found == 0


def test_credit_memo_and_refund_totals_the_app_changed_without_a_sync(qbo_simulator,
                                                                      connected, contact):
    memo, refund = make_credit_memo(contact), make_refund(contact)
    assert job_for(memo).status == job_for(refund).status == "succeeded"
    CreditMemoLine.objects.filter(credit_memo=memo).update(unit_price=Decimal("60.00"))
    RefundLine.objects.filter(refund=refund).update(unit_price=Decimal("90.00"))
    run = reconcile(connected)
    assert kinds(run) == ["totals", "totals"]
    labels = sorted(run.differences.values_list("label", flat=True))
    assert labels == ["credit memo CM-0001", "refund RF-0001"]
    assert "QuickBooks total 50.00, the app's 60.00" in run.differences.get(
        entity="credit_memo").explanation
    for diff in run.differences.all():
        [job] = repair(diff, "push")
        job.refresh_from_db()
        assert job.status == "succeeded", job.error_message
    assert reconcile(connected).found == 0
    assert {r["TotalAmt"] for r in qbo(qbo_simulator, "CreditMemo")} == {Decimal("60.00")}


def test_each_kind_costs_its_own_queries(qbo_simulator, connected, contact):
    from tests.push.conftest import api_calls

    make_credit_memo(contact)
    before = len(api_calls(qbo_simulator))
    run = reconcile(connected)
    queries = [r for r in api_calls(qbo_simulator)[before:] if r.path.endswith("/query")]
    assert (run.total, len(queries), run.found) == (2, 2, 0)  # the customer, the memo
