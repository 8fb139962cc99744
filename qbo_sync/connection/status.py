"""What state a workspace's QuickBooks connection is in: the summary the admin, the API
and ``manage.py qbo_sync_status`` show. Reads only our tables (plus CompanyInfo once,
if the company's country was never read)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count
from django.utils import timezone

from ..exceptions import QBOSyncError
from ..models import SUCCESS_STATUSES, Connection, InvoiceStanding, LinkStatus, SyncJob
from .lists import capabilities_of

#: Settings every company needs, with the label users see and where to set it.
REQUIRED = (
    ("default_item_id", "Default Item"),
    ("default_deposit_account_id", "Default Deposit Account"),
)
#: Non-US lines must carry a real tax code (docs/qbo-rules.md §5.2 "Tax: US vs non-US").
NON_US_REQUIRED = (("default_tax_code_id", "Default Tax Code"),)


def _is_us(connection: Connection) -> bool | None:
    """True/False from the stored capabilities; read them if connected; None if unknown."""
    if connection.capabilities:
        return bool(connection.capabilities.get("is_us"))
    if not connection.is_connected:
        return None
    try:
        return capabilities_of(connection).is_us
    except QBOSyncError:
        return None  # unknown for now; asked again next time


def missing_required(connection: Connection) -> list[str]:
    """Labels of the required settings that are not set, e.g. ``["Default Item"]``."""
    required = list(REQUIRED)
    if _is_us(connection) is False:
        required += NON_US_REQUIRED
    return [label for field, label in required if not getattr(connection, field)]


def _seconds_left(when: datetime | None, now: datetime) -> int | None:
    return None if when is None else int((when - now).total_seconds())


def _job_brief(job: SyncJob | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "id": job.pk, "entity": job.entity, "action": job.action, "object_id": job.object_id,
        "qbo_id": job.qbo_id, "at": job.finished_at or job.updated_at,
        "message": job.error_message,
    }


def status_summary(connection: Connection | None, *, workspace: str = "") -> dict[str, Any]:
    """Status, company, realm, environment, token countdowns (incl. the 5-year hard
    expiry, docs/qbo-rules.md §1.5), job counts by status, last success / failure and the
    missing required settings. ``connection`` None: the workspace never connected."""
    now = timezone.now()
    workspace = connection.workspace if connection is not None else workspace
    jobs = SyncJob.objects.filter(workspace=workspace)
    counts = {s.value: 0 for s in SyncJob.Status}
    counts.update(dict(jobs.values_list("status").annotate(n=Count("pk")).order_by()))
    finished = jobs.exclude(finished_at=None).order_by("-finished_at", "-pk")
    summary: dict[str, Any] = {
        "workspace": workspace,
        "status": connection.status if connection else "not_connected",
        "status_display": connection.get_status_display() if connection else "Not connected",
        "status_reason": connection.status_reason if connection else "",
        "company": connection.company_name if connection else "",
        "realm_id": connection.realm_id if connection else "",
        "environment": connection.environment if connection else "",
        "connected_at": connection.connected_at if connection else None,
        "tokens": {},
        "jobs": counts,
        "last_success": _job_brief(finished.filter(status__in=SUCCESS_STATUSES).first()),
        "last_failure": _job_brief(finished.filter(status=SyncJob.Status.FAILED).first()),
        "missing_required": missing_required(connection) if connection else [],
        "overdue": overdue_summary(connection),
    }
    if connection is not None:
        for key, field in (("access", "access_token_expires_at"),
                           ("refresh", "refresh_token_expires_at"),
                           ("hard", "refresh_token_hard_expires_at")):
            when = getattr(connection, field)
            summary["tokens"][f"{key}_expires_at"] = when
            summary["tokens"][f"{key}_expires_in_seconds"] = _seconds_left(when, now)
        hard = summary["tokens"]["hard_expires_in_seconds"]
        summary["tokens"]["hard_expires_in_days"] = None if hard is None else hard // 86400
    return summary


def overdue_summary(connection: Connection | None) -> dict[str, Any]:
    """The connection's overdue invoices (an open balance past the due date, as
    QuickBooks last said, ``qbo_sync.pull.overdue``) and their open amount: in all and
    by currency code ("" when QuickBooks named none), summed as ``Decimal``."""
    by_currency: dict[str, dict[str, Any]] = {}
    if connection is not None:
        rows = (InvoiceStanding.objects.filter(connection=connection, overdue=True)
                .exclude(link__qbo_status__in=[LinkStatus.VOID, LinkStatus.DELETED])
                .values_list("currency", "balance").order_by("currency", "pk"))
        for currency, amount in rows:
            entry = by_currency.setdefault(currency, {"count": 0, "amount": Decimal("0")})
            entry["count"] += 1
            entry["amount"] += amount  # Decimal + Decimal, never the database's float
    total = sum((v["amount"] for v in by_currency.values()), Decimal("0"))
    return {
        "count": sum(v["count"] for v in by_currency.values()),
        # Amounts in different currencies do not add up: then only by_currency has them.
        "amount": total if len(by_currency) <= 1 else None,
        "by_currency": by_currency,
    }
