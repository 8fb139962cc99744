"""Small pieces of HTML the admin screens share: status badges, durations, pretty JSON
and links to the host object and to the record in QuickBooks."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db import router, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timeuntil

from ..conf import app_settings
from ..models import Connection, EntityLink, SyncJob

logger = logging.getLogger("qbo_sync.admin")

GREEN, RED, AMBER, GREY = "#1b7f3b", "#b3261e", "#9a6700", "#5f6368"

_JOB_COLOURS = {
    SyncJob.Status.SUCCEEDED: GREEN,
    SyncJob.Status.DIFFERS: AMBER,
    SyncJob.Status.FAILED: RED,
    SyncJob.Status.PARKED: AMBER,
    SyncJob.Status.RUNNING: AMBER,
    SyncJob.Status.PENDING: GREY,
    SyncJob.Status.SKIPPED: GREY,
}
_CONNECTION_COLOURS = {
    Connection.Status.CONNECTED: GREEN,
    Connection.Status.ERROR: RED,
    Connection.Status.DISCONNECTED: GREY,
}

#: Our entity names → the QBO entity they become.
QBO_TYPES = {
    "contact": "Customer",
    "invoice": "Invoice",
    "payment": "Payment",
    "credit_memo": "CreditMemo",
    "refund": "RefundReceipt",
    "time_entry": "TimeActivity",
}
#: Pages of the QBO web app for each entity (the app's own URLs, not the API).
_QBO_APP_PAGES = {
    "Customer": "customerdetail?nameId={id}",
    "Invoice": "invoice?txnId={id}",
    "Payment": "recvpayment?txnId={id}",
    "CreditMemo": "creditmemo?txnId={id}",
    "RefundReceipt": "refundreceipt?txnId={id}",
}
_QBO_APP_HOSTS = {
    "sandbox": "https://sandbox.qbo.intuit.com/app/",
    "production": "https://qbo.intuit.com/app/",
}


def badge(text: str, colour: str) -> SafeString:
    return format_html(
        '<span class="qbo-badge" style="background:{};color:#fff;padding:2px 8px;'
        'border-radius:10px;font-size:11px;font-weight:600;white-space:nowrap">{}</span>',
        colour, text,
    )


def job_badge(job: SyncJob) -> SafeString:
    return badge(job.get_status_display(), _JOB_COLOURS.get(job.status, GREY))


def connection_badge(conn: Connection) -> SafeString:
    label = conn.get_status_display()
    if conn.is_connected and conn.company_name:
        label = f"Connected to {conn.company_name}"
    return badge(label, _CONNECTION_COLOURS.get(conn.status, GREY))


def expires_in(when: datetime | None, *, short: bool = False) -> str:
    """"in 59 minutes (date)" / "expired 3 days ago" / "—"; tokens themselves are never
    shown. ``short`` leaves out the date and keeps the largest unit."""
    if when is None:
        return "—"
    now = timezone.now()
    depth = 1 if short else 2
    if when <= now:
        return f"expired {timeuntil(now, when, depth=depth)} ago"
    text = f"in {timeuntil(when, now, depth=depth)}"
    return text if short else f"{text} ({timezone.localtime(when):%Y-%m-%d %H:%M %Z})"


def pretty_json(value: Any) -> SafeString:
    if not value:
        return format_html('<span style="color:{}">(empty)</span>', GREY)
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html(
        '<pre class="qbo-json" style="max-height:32em;overflow:auto;background:#f6f8fa;'
        'padding:8px;border-radius:4px;white-space:pre-wrap">{}</pre>', text,
    )


#: Shown next to a host object that cannot be read: deleted, or its model raises.
UNAVAILABLE = "(host record unavailable)"


def _host_name(model: Any, object_id: str) -> str | None:
    """The host object's name, or ``None`` when it cannot be read: deleted, an id its
    model does not take, or its manager or ``__str__`` raises. Sync Health must render
    whatever the host's code does, so any error counts as "unavailable" (in its own
    savepoint, so a failed query does not break the page's transaction)."""
    try:
        with transaction.atomic(using=router.db_for_read(model)):
            obj = model._default_manager.filter(pk=object_id).first()
            return None if obj is None else str(obj)
    except Exception:  # noqa: BLE001 - the host's code may raise anything
        logger.warning("host object %s %s could not be read", model.__name__, object_id,
                       exc_info=True)
        return None


def host_object_link(content_type: Any, object_id: str, *,
                     fetch: bool = True) -> SafeString | str:
    """A link to the host object's admin change page when its model is registered;
    ``fetch`` reads the object for its name (off in lists: one query per row) and says
    :data:`UNAVAILABLE` when it cannot be read."""
    if content_type is None or not object_id:
        return "—"
    model = content_type.model_class()
    label = f"{content_type.name} {object_id}"
    if model is None:
        return f"{label} {UNAVAILABLE}" if fetch else label
    name = _host_name(model, object_id) if fetch else label
    if name is None:
        return f"{label} {UNAVAILABLE}"
    if not admin.site.is_registered(model):
        return label
    try:
        url = reverse(f"admin:{content_type.app_label}_{content_type.model}_change",
                      args=[object_id])
    except NoReverseMatch:
        return label
    return format_html('<a href="{}">{}</a>', url, name)


def qbo_record_url(connection: Connection | None, qbo_type: str, qbo_id: str) -> str:
    """Where a person can look at the record: the QBO web app, or in simulator mode the
    simulator's control plane record (``/_sim/realms/{realm}/records/{Entity}/{id}``)."""
    if connection is None or not qbo_id or not qbo_type:
        return ""
    env = connection.environment or app_settings.ENVIRONMENT
    if env == "simulator":
        base = str(app_settings.SIMULATOR_URL).rstrip("/")
        return f"{base}/_sim/realms/{connection.realm_id}/records/{qbo_type}/{qbo_id}"
    host = _QBO_APP_HOSTS.get(env)
    page = _QBO_APP_PAGES.get(qbo_type)
    if not host or not page:
        return ""
    return host + page.format(id=qbo_id)


def job_qbo_id(job: SyncJob) -> str:
    """The job's QBO id, or the linked record's when the job did not record one."""
    if job.qbo_id or job.connection_id is None or job.content_type_id is None:
        return job.qbo_id
    link = (
        EntityLink.objects.filter(connection_id=job.connection_id,
                                  content_type_id=job.content_type_id,
                                  object_id=job.object_id)
        .exclude(qbo_id="")
        .values_list("qbo_id", flat=True)
        .first()
    )
    return link or ""


def qbo_link(job: SyncJob, qbo_id: str | None = None) -> SafeString | str:
    qbo_id = job_qbo_id(job) if qbo_id is None else qbo_id
    qbo_type = QBO_TYPES.get(job.entity, "")
    url = qbo_record_url(job.connection, qbo_type, qbo_id)
    if not url:
        return qbo_id or "—"
    return format_html('<a href="{}" target="_blank" rel="noopener">{} {}</a>',
                       url, qbo_type, qbo_id)


def progress_bar(percent: int) -> SafeString:
    percent = max(0, min(100, int(percent)))
    return format_html(
        '<div class="qbo-progress" style="width:160px;background:#e0e0e0;border-radius:4px;'
        'display:inline-block;vertical-align:middle"><div style="width:{}%;background:{};'
        'height:10px;border-radius:4px"></div></div> {}%', percent, GREEN, percent,
    )
