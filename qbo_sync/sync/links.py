"""EntityLink bookkeeping: which host row is which QBO record, and the state of the
last write (QBO id, SyncToken, payload hash, exact-once create mark)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone

from ..conf import app_settings
from ..mapping import content_hash
from ..models import Connection, EntityLink, LinkStatus
from ..qbo.wire import json_safe

CREATING = LinkStatus.CREATING


def get_link(conn: Connection, obj: Any, qbo_type: str, variant: str = "") -> EntityLink:
    ct = ContentType.objects.get_for_model(type(obj))
    link, _ = EntityLink.objects.get_or_create(
        connection=conn, content_type=ct, object_id=str(obj.pk), variant=variant,
        defaults={"qbo_type": qbo_type, "qbo_status": ""},
    )
    return link


def find_link(conn: Connection, obj: Any, variant: str = "") -> EntityLink | None:
    ct = ContentType.objects.get_for_model(type(obj))
    return EntityLink.objects.filter(
        connection=conn, content_type=ct, object_id=str(obj.pk), variant=variant
    ).first()


def start_create(link: EntityLink) -> bool:
    """Mark the link "creating" unless another worker is creating it right now.

    The mark stays after an ambiguous failure (timeout, 5xx, lost response), so the
    next attempt knows to look in QBO before creating again (docs/architecture.md, invariant 2).
    Returns False when someone else holds a fresh mark.
    """
    lease = timezone.now() - timedelta(seconds=int(app_settings.JOB_LEASE_SECONDS))
    taken = EntityLink.objects.filter(pk=link.pk, qbo_id="").filter(
        ~Q(qbo_status=CREATING) | Q(updated_at__lt=lease)
    ).update(qbo_status=CREATING, updated_at=timezone.now())
    link.refresh_from_db()
    return bool(taken)


def was_ambiguous(link: EntityLink) -> bool:
    """A previous create may have reached QBO without us learning the id."""
    return link.qbo_status == CREATING and not link.qbo_id


def record_write(link: EntityLink, obj: dict, payload: dict, *,
                 status: str = LinkStatus.ACTIVE) -> None:
    """Store what QBO answered the moment we know it."""
    link.qbo_id = str(obj.get("Id", link.qbo_id))
    link.sync_token = str(obj.get("SyncToken", link.sync_token))
    link.doc_number = str(obj.get("DocNumber") or "")[:32]
    link.last_payload = json_safe(payload)
    link.content_hash = content_hash(payload)
    link.qbo_status = status
    link.last_synced_at = timezone.now()
    rate = obj.get("ExchangeRate")
    if rate not in (None, ""):
        # Home units per foreign unit, as QBO applied it (docs/qbo-rules.md §5.9).
        link.exchange_rate = Decimal(str(rate))
        # Truthful source: the app's rate when the payload carried one, else QBO's own.
        sent = payload.get("ExchangeRate") not in (None, "")
        link.exchange_rate_source = "app" if sent else "quickbooks"
        link.exchange_rate_at = link.last_synced_at
    link.save()
