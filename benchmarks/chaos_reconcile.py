"""After a chaos run: the app against QuickBooks (the simulator's store), record by record.

Every check returns the examples it found; a clean run finds none. The checks read the
host's own models and the records QuickBooks holds, not qbo_sync's opinion of them, so
a link that claims more than QuickBooks has is caught too.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType

from example_project.billing.models import Contact, CreditMemo, Invoice, Payment, Refund
from qbo_sync.models import EntityLink, SyncJob, WebhookEvent

MARK = re.compile(r"\[qbo_sync (\w+) ([^\]\s]+)\]")
#: Checks that must find nothing; "conflicts" and "failed" are listed, not failures.
MUST_BE_ZERO = ("duplicates in QuickBooks", "duplicates in the app", "lost creates",
                "lost updates", "lost voids", "mismatched totals", "mismatched payments",
                "stuck jobs", "stranded webhooks")


def _d(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else "0"))


def _links(conn: Any, model: type) -> dict[str, EntityLink]:
    ct = ContentType.objects.get_for_model(model)
    return {link.object_id: link for link in
            EntityLink.objects.filter(connection=conn, content_type=ct)}


def _marks(records: Iterable[dict], kind: str) -> Counter:
    found: Counter = Counter()
    for record in records:
        for k, key in MARK.findall(record.get("PrivateNote") or ""):
            if k == kind:
                found[key] += 1
    return found


def reconcile(sim: Any, conn: Any) -> dict[str, list[str]]:
    realm = conn.realm_id
    qbo = {entity: {r["Id"]: r for r in sim.store.all(realm, entity)}
           for entity in ("Customer", "Invoice", "Payment", "CreditMemo", "RefundReceipt")}
    out: dict[str, list[str]] = defaultdict(list)

    # Duplicates in QuickBooks: one host record, two QBO records.
    names = Counter(c["DisplayName"] for c in qbo["Customer"].values())
    out["duplicates in QuickBooks"] += [f"Customer {n!r} ×{c}" for n, c in names.items() if c > 1]
    for entity, kind in (("Invoice", "invoice"), ("Payment", "payment"),
                         ("CreditMemo", "credit_memo"), ("RefundReceipt", "refund")):
        out["duplicates in QuickBooks"] += [
            f"{entity} of host {kind} {key} ×{n}"
            for key, n in _marks(qbo[entity].values(), kind).items() if n > 1]

    # Duplicates in the app: a payment we pushed imported back, or one QBO payment twice.
    ours = {pid for pid, p in qbo["Payment"].items() if _marks([p], "payment")}
    imported = Counter(Payment.objects.filter(invoice__workspace__slug=conn.workspace)
                       .exclude(external_ref="").values_list("external_ref", flat=True))
    out["duplicates in the app"] += [f"QBO payment {ref} recorded ×{n}"
                                     for ref, n in imported.items() if n > 1]
    out["duplicates in the app"] += [f"our QBO payment {ref} imported back as a host payment"
                                     for ref in imported if ref in ours]

    _documents(conn, qbo, out)
    _payments(conn, qbo, out)

    # Parked counts too: the connection stays connected all run, so nothing should wait
    # for a reconnect.
    active = SyncJob.objects.filter(status__in=[SyncJob.Status.PENDING, SyncJob.Status.RUNNING,
                                                SyncJob.Status.PARKED])
    out["stuck jobs"] += [f"job {j.pk} {j.entity}/{j.action} {j.status}: {j.error_message[:80]}"
                          for j in active[:50]]
    out["stranded webhooks"] += [f"delivery {e.pk} (attempts {e.attempts}): {e.error[:80]}"
                                 for e in WebhookEvent.objects.filter(verified=True,
                                                                      processed=False)[:50]]
    for job in SyncJob.objects.filter(status=SyncJob.Status.FAILED):
        key = "conflicts" if "changed in QuickBooks" in job.error_message else "failed"
        out[key].append(f"job {job.pk} {job.entity}: {job.error_message[:120]}")
    return dict(out)


def _documents(conn: Any, qbo: dict, out: dict[str, list[str]]) -> None:
    contacts = _links(conn, Contact)
    for contact in Contact.objects.filter(workspace__slug=conn.workspace, invoices__isnull=False
                                          ).distinct():
        link = contacts.get(str(contact.pk))
        if link is None or link.qbo_id not in qbo["Customer"]:
            out["lost creates"].append(f"contact {contact.pk} {contact.display_name!r}")
    invoices = _links(conn, Invoice)
    differs = set(SyncJob.objects.filter(status=SyncJob.Status.DIFFERS, entity="invoice")
                  .values_list("object_id", flat=True))
    for inv in Invoice.objects.filter(workspace__slug=conn.workspace).exclude(status="draft"):
        link = invoices.get(str(inv.pk))
        record = qbo["Invoice"].get(link.qbo_id) if link else None
        if inv.status == Invoice.Status.VOID:
            if record is not None and _d(record.get("TotalAmt")) != 0:
                out["lost voids"].append(f"invoice {inv.number}: QBO {record['Id']} not void")
            elif record is None and _marks(qbo["Invoice"].values(), "invoice").get(str(inv.pk)):
                out["lost voids"].append(f"invoice {inv.number}: in QBO, never linked or void")
            continue
        if record is None:
            out["lost creates"].append(f"invoice {inv.number} ({inv.status})")
            continue
        memo = (record.get("CustomerMemo") or {}).get("value", "")
        if memo != inv.memo:
            out["lost updates"].append(f"invoice {inv.number}: QBO memo {memo!r}, app "
                                       f"{inv.memo!r}")
        if _d(record.get("TotalAmt")) != inv.total and str(inv.pk) not in differs:
            out["mismatched totals"].append(f"invoice {inv.number}: QBO {record.get('TotalAmt')},"
                                            f" app {inv.total}")
    for model, entity in ((CreditMemo, "CreditMemo"), (Refund, "RefundReceipt")):
        links = _links(conn, model)
        for doc in model.objects.filter(workspace__slug=conn.workspace):
            link = links.get(str(doc.pk))
            record = qbo[entity].get(link.qbo_id) if link else None
            if record is None:
                out["lost creates"].append(f"{entity} {doc.number}")
            elif _d(record.get("TotalAmt")) != doc.total:
                out["mismatched totals"].append(f"{entity} {doc.number}: QBO "
                                                f"{record.get('TotalAmt')}, app {doc.total}")


def _payments(conn: Any, qbo: dict, out: dict[str, list[str]]) -> None:
    links = _links(conn, Payment)
    invoice_links = _links(conn, Invoice)
    for pay in Payment.objects.filter(invoice__workspace__slug=conn.workspace,
                                      source=Payment.Source.APP):
        link = links.get(str(pay.pk))
        record = qbo["Payment"].get(link.qbo_id) if link else None
        if record is None:
            out["lost creates"].append(f"payment {pay.pk} of {pay.amount} on "
                                       f"{pay.invoice.number}")
            continue
        inv_link = invoice_links.get(str(pay.invoice_id))
        applied = [t.get("TxnId") for line in record.get("Line") or []
                   for t in line.get("LinkedTxn") or []]
        if _d(record.get("TotalAmt")) != pay.amount or inv_link is None \
                or applied != [inv_link.qbo_id]:
            out["mismatched payments"].append(
                f"payment {pay.pk}: QBO {record.get('TotalAmt')} on {applied}, app "
                f"{pay.amount} on {inv_link.qbo_id if inv_link else '?'}")
    # Every QBO payment someone made in QuickBooks is in the app once.
    theirs = [pid for pid, p in qbo["Payment"].items() if not _marks([p], "payment")]
    recorded = set(Payment.objects.filter(source=Payment.Source.QUICKBOOKS)
                   .values_list("external_ref", flat=True))
    out["lost creates"] += [f"QBO payment {pid} (made in QuickBooks) never reached the app"
                            for pid in theirs if pid not in recorded]
