"""Every document write is checked against the app's figures, from the write's own
response: "succeeded" when QuickBooks stores them to the cent, "Succeeded, totals
differ" (with both figures, the cause and the fix) when it does not."""

from __future__ import annotations

from decimal import Decimal

from qbo_sync import signals
from qbo_sync.admin.display import job_badge
from qbo_sync.connection.status import status_summary
from qbo_sync.models import SyncJob
from qbo_sync.sync import outbox

from .conftest import job_for, qbo, send_invoice, writes

FIVE_PERCENT = [{"category": "design", "description": "Consulting", "quantity": Decimal("1"),
                 "unit_price": Decimal("100.00"), "tax_rate": Decimal("5.00")}]


def test_app_authority_quickbooks_keeps_the_app_s_tax(qbo_simulator, connected, contact):
    invoice = send_invoice(contact, lines=FIVE_PERCENT)
    job = job_for(invoice)
    assert job.status == SyncJob.Status.SUCCEEDED, job.error_message
    [qinv] = qbo(qbo_simulator, "Invoice")
    assert Decimal(str(qinv["TotalAmt"])) == invoice.total == Decimal("105.00")
    assert Decimal(str(qinv["TxnTaxDetail"]["TotalTax"])) == Decimal("5.00")
    assert job.totals == {}


def test_quickbooks_authority_reports_the_difference(qbo_simulator, connected, contact):
    connected.tax_authority = "quickbooks"
    connected.save()
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.totals_mismatch.connect(receiver)
    try:
        invoice = send_invoice(contact, lines=FIVE_PERCENT)
    finally:
        signals.totals_mismatch.disconnect(receiver)
    job = job_for(invoice)
    [qinv] = qbo(qbo_simulator, "Invoice")
    qbo_total = Decimal(str(qinv["TotalAmt"]))
    assert qbo_total != invoice.total  # QuickBooks computed its own rate
    assert job.status == SyncJob.Status.DIFFERS
    assert job.get_status_display() == "Succeeded, totals differ"
    assert job.totals["app"]["total"] == "105.00"
    assert job.totals["quickbooks"]["total"] == f"{qbo_total:.2f}"
    assert job.totals["difference"]["total"] == f"{qbo_total - Decimal('105.00'):.2f}"
    assert "instead of 5 %" in job.totals["cause"]
    assert "Tax authority" in job.totals["fix"]
    assert job.error_message.startswith(f"Totals differ: QuickBooks total {qbo_total:.2f}")
    assert [s["job"].pk for s in seen] == [job.pk]
    assert seen[0]["obj"] == invoice
    assert status_summary(connected)["jobs"]["differs"] == 1
    assert "#9a6700" in str(job_badge(job))  # amber, not green or red
    # The check used the write's response: one invoice write, no read of the invoice.
    assert len(writes(qbo_simulator, "invoice")) == 1
    assert not [r for r in qbo_simulator.requests_log
                if r.method == "GET" and "/invoice/" in r.path]


def test_a_balance_the_app_knows_is_compared(qbo_simulator, connected, contact):
    invoice = send_invoice(contact, lines=FIVE_PERCENT)
    qinv = qbo(qbo_simulator, "Invoice")[0]
    # An accountant receives 40.00 in QuickBooks; the app never hears of it and edits
    # the invoice, so QuickBooks' balance is 40.00 lower than the app's.
    qbo_simulator.accountant.record_payment("9341453000000001", qinv["Id"], Decimal("40.00"))
    line = invoice.lines.get()
    line.description = "Consulting, revised"
    line.save()
    invoice.save()
    job = job_for(invoice)
    assert job.status == SyncJob.Status.DIFFERS, job.error_message
    assert job.totals["difference"] == {"balance": "-40.00"}
    assert "payments or credits" in job.totals["cause"]


# Rounding: a difference within the tolerance is posted to the Rounding item ------------

UK_LINE = [{"category": "design", "description": "Design", "quantity": Decimal("1"),
            "unit_price": Decimal("100.00"), "tax_rate": Decimal("20.00")}]


def _app_rounds_differently(monkeypatch) -> None:
    """The app's own tax rule lands one cent above QuickBooks' (20.01 on 100.00)."""
    from dataclasses import replace

    from example_project.billing.qbo import InvoiceAdapter

    real = InvoiceAdapter.to_data
    cent = Decimal("0.01")

    def to_data(self, obj):
        data = real(self, obj)
        return replace(data, tax_total=data.tax_total + cent, total=data.total + cent,
                       balance=data.balance + cent)

    monkeypatch.setattr(InvoiceAdapter, "to_data", to_data)


def test_a_cent_within_the_tolerance_is_posted_as_rounding(qbo_simulator, uk_connected,
                                                           uk_contact, monkeypatch):
    _app_rounds_differently(monkeypatch)
    rounding = next(i for i in qbo_simulator.store.all("9341453000000002", "Item")
                    if i["Name"] != "Services")
    uk_connected.rounding_tolerance = Decimal("0.05")
    uk_connected.rounding_item_id = rounding["Id"]
    uk_connected.save()
    invoice = send_invoice(uk_contact, number="UK-R1", lines=UK_LINE)
    job = job_for(invoice)
    assert job.status == SyncJob.Status.SUCCEEDED, job.error_message
    assert "Rounding: 0.01 posted" in job.error_message
    [qinv] = qbo(qbo_simulator, "Invoice", "9341453000000002")
    assert Decimal(str(qinv["TotalAmt"])) == Decimal("120.01")
    [adjust] = [ln for ln in qinv["Line"] if ln.get("Description") == "Rounding"]
    assert Decimal(str(adjust["Amount"])) == Decimal("0.01")
    assert adjust["SalesItemLineDetail"]["ItemRef"]["value"] == rounding["Id"]
    assert qinv["PrivateNote"].startswith("Rounding adjustment 0.01 to match the app's total.")
    assert "[qbo_sync invoice" in qinv["PrivateNote"]  # the marker survives
    # Nothing changed in the app: pushing again is "no change", not another adjustment.
    again = outbox.enqueue("invoice", invoice)  # runs at once: tasks are inline in tests
    again.refresh_from_db()
    assert (again.status, again.error_message) == (SyncJob.Status.SKIPPED,
                                                   "No change since the last sync.")


def test_rounding_is_off_by_default(qbo_simulator, uk_connected, uk_contact, monkeypatch):
    _app_rounds_differently(monkeypatch)
    invoice = send_invoice(uk_contact, number="UK-R2", lines=UK_LINE)
    job = job_for(invoice)
    assert job.status == SyncJob.Status.DIFFERS
    assert job.totals["difference"] == {"total": "-0.01", "tax": "-0.01", "balance": "-0.01"}
    [qinv] = qbo(qbo_simulator, "Invoice", "9341453000000002")
    assert not [ln for ln in qinv["Line"] if ln.get("Description") == "Rounding"]
