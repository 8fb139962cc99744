"""Customer edits made in QuickBooks come into the app (``PULL_CUSTOMER_CHANGES``, off by
default): the pull cycle plans one job per linked customer whose owned fields changed
there, and :func:`apply_contact` hands the changes to the contact adapter's
``update_contact``.

The conflict rule is the push's (``push/conflicts.py``): the base is what the app last
wrote (``EntityLink.last_payload``). A field QuickBooks changed since is taken into the
app, unless the app changed it too (to another value): then it is reported, and neither
side is overwritten until a person decides.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from ..adapters import ContactAdapter
from ..conf import app_settings
from ..exceptions import StaleObjectError
from ..mapping import customer_display_name, customer_payload
from ..mapping.hashing import mask_email, mask_phone
from ..models import Connection, EntityLink, JobAction, JobTrigger, SyncJob
from ..push.conflicts import CUSTOMER_FIELDS
from ..push.context import context
from ..sync import links
from ..sync.job import JobRun, Skip
from .apply import _host_write

#: QBO Customer field → the key ``update_contact`` gets.
HOST_KEYS = {
    "DisplayName": "display_name", "CompanyName": "company_name",
    "PrimaryEmailAddr.Address": "email", "PrimaryPhone.FreeFormNumber": "phone",
    "BillAddr.Line1": "address_line1", "BillAddr.Line2": "address_line2",
    "BillAddr.City": "city", "BillAddr.CountrySubDivisionCode": "region",
    "BillAddr.PostalCode": "postal_code", "BillAddr.Country": "country",
}
assert set(HOST_KEYS) == set(CUSTOMER_FIELDS)  # one list of the fields we own

CONFLICT_FIX = ("Decide which version is right: make the app's value the same as "
                "QuickBooks' (or change QuickBooks to the app's), then retry this job from "
                "Sync Health.")


def enabled() -> bool:
    return bool(app_settings.PULL_CUSTOMER_CHANGES)


def _get(obj: Any, dotted: str) -> str:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return ""
        obj = obj.get(part)
    return "" if obj is None else str(obj).strip()


def _shown(field: str, value: str) -> str:
    return mask_email(mask_phone(value) if field.endswith("FreeFormNumber") else value)


def plan_contacts(conn: Connection, customers: list[dict], *,
                  trigger: str = JobTrigger.SCHEDULE) -> list[SyncJob]:
    """A pull job per linked customer whose owned fields QBO changed since our last
    write. Our own writes (the link holds their SyncToken) and changes to fields we do
    not own (a balance) plan nothing; the same version read twice plans once."""
    if not enabled():
        return []
    by_id = {str(c.get("Id")): c for c in customers if c.get("status") != "Deleted"}
    found = EntityLink.objects.filter(connection=conn, qbo_type="Customer", variant="",
                                      qbo_id__in=list(by_id)).select_related("content_type")
    jobs = []
    for link in found:
        customer = by_id[link.qbo_id]
        token = str(customer.get("SyncToken", ""))
        if token == link.sync_token or not changed_in_quickbooks(link.last_payload, customer):
            continue
        key = f"pull-contact {link.qbo_id} {token}"
        if SyncJob.objects.filter(connection=conn, direction=SyncJob.Direction.PULL,
                                  action=JobAction.PULL_CONTACT, request_id=key).exists():
            continue
        jobs.append(SyncJob.objects.create(
            connection=conn, workspace=conn.workspace, content_type=link.content_type,
            object_id=link.object_id, entity="contact", action=JobAction.PULL_CONTACT,
            direction=SyncJob.Direction.PULL, qbo_id=link.qbo_id, request_id=key,
            max_attempts=int(app_settings.RETRY["MAX_ATTEMPTS"]), trigger=trigger,
        ))
    return jobs


def changed_in_quickbooks(base: dict, theirs: dict) -> list[str]:
    """Owned fields QuickBooks holds differently from the app's last write (a field the
    app never wrote counts as empty there, so one added in QuickBooks counts too)."""
    base = links.as_written(base, theirs)
    return [f for f in CUSTOMER_FIELDS if _get(base, f) != _get(theirs, f)]


def compare(base: dict, ours: dict, theirs: dict) -> tuple[dict[str, str], list[str]]:
    """Three-way compare of the owned fields: (QBO field → value to take into the app,
    conflicts described). ``base`` is what the app last wrote, ``ours`` what it would
    write now, ``theirs`` what QuickBooks holds."""
    take: dict[str, str] = {}
    clashes: list[str] = []
    base_theirs, base_ours = links.as_written(base, theirs), links.as_written(base, ours)
    for field in CUSTOMER_FIELDS:
        t, o = _get(theirs, field), _get(ours, field)
        if _get(base_theirs, field) == t or o == t:
            continue  # unchanged in QuickBooks, or both sides already agree
        if _get(base_ours, field) != o:
            clashes.append(f"{field}: the app has {_shown(field, o)!r}, QuickBooks has "
                           f"{_shown(field, t)!r}")
        else:
            take[field] = t
    return take, clashes


def _payload(run: JobRun, adapter: Any, contact: Any) -> dict:
    data = adapter.to_data(contact)
    return customer_payload(data, context(run), display_name=customer_display_name(data))


def apply_contact(run: JobRun) -> str | None:
    adapter, contact = run.adapter, run.obj
    if type(adapter).update_contact is ContactAdapter.update_contact:
        raise Skip("The contact adapter has no update_contact hook; customer edits in "
                   "QuickBooks are not taken into the app.")
    link = links.find_link(run.connection, contact)
    if link is None or not link.qbo_id:
        raise Skip("The contact is no longer linked to a QuickBooks customer.")
    current = run.client.read("Customer", link.qbo_id)
    take, clashes = compare(link.last_payload, _payload(run, adapter, contact), current)
    if clashes:
        # Nothing is taken, so neither side changes until a person decides.
        raise StaleObjectError(
            "The customer was changed both in the app and in QuickBooks since the last "
            "sync, so nothing was taken: " + "; ".join(clashes), fix=CONFLICT_FIX)
    if not take:
        raise Skip("QuickBooks' changes are already in the app.")
    changes = {HOST_KEYS[field]: value for field, value in take.items()}
    with transaction.atomic():
        _host_write("the customer's edit from QuickBooks",
                    lambda: adapter.update_contact(contact, changes), dict(changes))
        # QuickBooks' version is the new base (same transaction, so the push the host's
        # save queues runs after it): that push sends only the app's own edits, if any.
        links.record_found(link, current, _payload(run, adapter, contact))
    run.note("Took from QuickBooks: " + ", ".join(changes) + ".")
    return link.qbo_id


HANDLERS = {("pull", "contact"): apply_contact}
