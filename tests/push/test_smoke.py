from django.db import transaction

from qbo_sync.models import SyncJob

from .conftest import make_invoice, qbo


def test_send_invoice_pushes_customer_then_invoice(qbo_simulator, connected, contact):
    with transaction.atomic():
        inv = make_invoice(contact)
    inv.send()
    jobs = list(SyncJob.objects.order_by("pk").values_list("entity", "action", "status",
                                                           "error_message"))
    print(jobs)
    invoices = qbo(qbo_simulator, "Invoice")
    assert len(invoices) == 1
    assert invoices[0]["DocNumber"] == "INV-00001"
    assert len(qbo(qbo_simulator, "Customer")) >= 1
