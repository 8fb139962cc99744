"""Host records deleted in the app: their QuickBooks records are voided (or deleted, for
invoices, per ``INVOICE_DELETE``), through the outbox like every other push.

The host row is gone when the job runs, so these handlers work from the link alone (the
job keeps the content type and id). A create whose outcome was unknown is looked for by
our marker among the records created since the link was made (docs/qbo-rules.md §2.4,
§8), since the host data a probe would use is gone too.
"""

from __future__ import annotations

from datetime import timedelta

from ..conf import app_settings
from ..exceptions import StaleObjectError
from ..models import EntityLink, JobAction, LinkStatus
from ..qbo.wire import quote, request_id
from ..sync import links
from ..sync.job import Defer, JobRun, Skip
from .context import record

#: What deleting a synced invoice in the app does in QuickBooks.
INVOICE_DELETE_CHOICES = ("void", "delete", "keep")


def gone_link(run: JobRun, qbo_type: str) -> EntityLink | None:
    return EntityLink.objects.filter(
        connection=run.connection, content_type_id=run.job.content_type_id,
        object_id=run.job.object_id, qbo_type=qbo_type, variant="").first()


def _settle_unknown_create(run: JobRun, link: EntityLink, entity: str, kind: str) -> None:
    if links.create_in_flight(link):
        raise Defer(f"The {kind} is being created in QuickBooks right now; it is removed "
                    "there once that finishes.")
    since = (link.created_at - timedelta(minutes=5)).isoformat()
    mark = links.marker(kind, link.object_id)
    found = next((row for row in run.client.query_all(
        entity, where=f"MetaData.CreateTime >= {quote(since)}")
        if mark in (row.get("PrivateNote") or "")), None)
    if found is None:
        links.forget_create(link)
        return
    run.note(f"An earlier attempt had created {entity} {found['Id']} in QuickBooks; found "
             "it by its marker.")
    links.record_found(link, found, {})


def _live_link(run: JobRun, entity: str, kind: str) -> EntityLink:
    link = gone_link(run, entity)
    if link is not None and links.was_ambiguous(link):
        _settle_unknown_create(run, link, entity, kind)
        link.refresh_from_db()
    if link is None or not link.qbo_id:
        raise Skip(f"The {kind} was deleted in the app before it reached QuickBooks; "
                   "nothing to remove there.")
    if link.qbo_status in (LinkStatus.VOID, LinkStatus.DELETED):
        raise Skip(f"The {kind} is already {link.get_qbo_status_display().lower()}.")
    return link


def _with_fresh_token(run: JobRun, link: EntityLink, entity: str, write) -> dict:
    """One call with the last write's SyncToken; after a 5010, once more with QBO's."""
    token = link.sync_token or str(run.client.read(entity, link.qbo_id)["SyncToken"])
    try:
        return write(token)
    except StaleObjectError:
        return write(str(run.client.read(entity, link.qbo_id)["SyncToken"]))


def invoice_gone(run: JobRun) -> str | None:
    """The host invoice was deleted: void it in QuickBooks, or delete it there."""
    how = str(app_settings.INVOICE_DELETE)
    link = _live_link(run, "Invoice", "invoice")
    realm = run.connection.realm_id
    if how == "delete":
        run.job.action = JobAction.DELETE
        obj = _with_fresh_token(run, link, "Invoice", lambda token: run.client.delete(
            "Invoice", link.qbo_id, token,
            request_id=request_id(realm, "delete", link.qbo_id, token)))
        link.qbo_status = LinkStatus.DELETED
        note = "deleted it in QuickBooks too (INVOICE_DELETE = \"delete\")"
    else:
        run.job.action = JobAction.VOID
        obj = _with_fresh_token(run, link, "Invoice", lambda token: run.client.void_invoice(
            link.qbo_id, token, request_id=request_id(realm, "void", link.qbo_id, token)))
        link.qbo_status = LinkStatus.VOID
        link.sync_token = str(obj.get("SyncToken", link.sync_token))
        note = "voided it in QuickBooks"
    link.save(update_fields=["qbo_status", "sync_token", "updated_at"])
    record(run, {"Id": link.qbo_id, "operation": run.job.action}, obj)
    run.note(f"The invoice was deleted in the app; {note}.")
    return link.qbo_id


def contact_gone(run: JobRun) -> str | None:
    """The host contact was deleted: QuickBooks keeps customers (a name list entry is
    made inactive, never deleted, docs/qbo-rules.md §5.1), so its customer goes inactive.
    Every currency variant of the contact goes with it."""
    run.job.action = JobAction.DEACTIVATE
    found = list(EntityLink.objects.filter(
        connection=run.connection, content_type_id=run.job.content_type_id,
        object_id=run.job.object_id, qbo_type="Customer").exclude(qbo_id=""))
    if not found:
        raise Skip("The contact was deleted in the app before it reached QuickBooks; "
                   "nothing to change there.")
    for link in found:
        obj = _with_fresh_token(run, link, "Customer", lambda token, link=link: run.client.update(
            "Customer", {"Id": link.qbo_id, "SyncToken": token, "sparse": True,
                         "Active": False}, sparse=True))
        link.sync_token = str(obj.get("SyncToken", link.sync_token))
        link.save(update_fields=["sync_token", "updated_at"])
        record(run, {"Id": link.qbo_id, "Active": False}, obj)
    run.note(f"The contact was deleted in the app; made {len(found)} QuickBooks customer(s) "
             "inactive (QuickBooks keeps customers for their history).")
    return found[0].qbo_id


def payment_gone(run: JobRun) -> str | None:
    """The host payment was deleted: void the QuickBooks payment (its amount goes back
    to the invoice's open balance there too, docs/qbo-rules.md §5.3)."""
    link = _live_link(run, "Payment", "payment")
    realm = run.connection.realm_id
    run.job.action = JobAction.VOID
    obj = _with_fresh_token(run, link, "Payment", lambda token: run.client.void_payment(
        link.qbo_id, token, request_id=request_id(realm, "void", "Payment", link.qbo_id, token)))
    link.qbo_status = LinkStatus.VOID
    link.sync_token = str(obj.get("SyncToken", link.sync_token))
    link.save(update_fields=["qbo_status", "sync_token", "updated_at"])
    record(run, {"Id": link.qbo_id, "operation": "void"}, obj)
    run.note("The payment was deleted in the app; voided it in QuickBooks.")
    return link.qbo_id
