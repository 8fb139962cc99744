"""QBO webhook deliveries: accepted, stored and processed (docs/qbo-rules.md §7).

Accepting (behind the view in :mod:`qbo_sync.views`) only verifies, stores and
acknowledges: QBO wants a 200 within 3 seconds and holds later events while one fails
(§7.5), so it makes no QBO call. A django-q2 task
then processes the stored delivery: new events (deduplicated by their keys) trigger a
pull of their company, which reads the changes through CDC rather than one GET per id
(§7.5 step 3) and never runs twice at once for the same company.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ..conf import app_settings
from ..exceptions import MalformedDelivery, WebhookPullFailed
from ..models import Connection, SeenEvent, WebhookEvent
from ..secrets import Secret
from ..sync.queue import queue_task
from .cycle import pull_connection
from .notices import PULLED_ENTITIES, Notice, parse, signature_ok

logger = logging.getLogger("qbo_sync.webhooks")

#: Seconds a webhook's pull waits for a running pull of the same company.
LOCK_WAIT = 60
#: Request headers never stored.
PRIVATE_HEADERS = {"cookie", "authorization", "proxy-authorization"}


@sensitive_variables("verifier")
def accept(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    """Store one delivery raw, verify it and queue its processing; returns the HTTP
    status and message the endpoint answers with. Makes no QBO call. The verifier token
    is a :class:`~qbo_sync.secrets.Secret` from the moment it is read (invariant 5)."""
    if not app_settings.WEBHOOKS_ENABLED:
        return 404, ("QuickBooks webhooks are off: set QBO_SYNC['WEBHOOKS_ENABLED'] = True "
                     "to receive them.")
    kept = {k: v for k, v in headers.items() if k.lower() not in PRIVATE_HEADERS}
    event = WebhookEvent(headers=kept, body=body.decode("utf-8", "replace"))
    verifier = Secret.of(app_settings.WEBHOOK_VERIFIER_TOKEN)
    event.verified = signature_ok(body, headers.get("intuit-signature"), verifier)
    if not event.verified:
        event.error = (
            "Signature check failed." if verifier else
            "QBO_SYNC['WEBHOOK_VERIFIER_TOKEN'] is not set: copy the verifier token from "
            "the Intuit developer portal (your app → Webhooks) into the settings."
        )
        event.save()
        return 401, "Invalid intuit-signature."
    try:
        event.envelope, notices = parse(body)
    except MalformedDelivery as err:
        event.error = str(err)
        event.save()
        return 400, str(err)
    event.realm_ids = sorted({n.realm_id for n in notices})
    event.save()
    transaction.on_commit(lambda: dispatch(event.pk))
    return 200, "Received."


def dispatch(event_id: int, *, force: bool = False) -> None:
    """Hand a stored delivery to a worker (if the broker refuses, the delivery stays
    stored and the scheduled CDC catch-up reads the change anyway)."""
    queue_task("qbo_sync.tasks.process_webhook", event_id, force=force,
               name=f"qbo_sync webhook {event_id}")


def process_event(event_id: int, *, force: bool = False) -> dict[str, Any]:
    """Process one stored, verified delivery: pull each company with new events.

    Events already seen are skipped (§7.5 deduplication), unless ``force`` (a replay).
    On failure the delivery keeps ``processed=False`` and the error, and no key is
    recorded, so a replay processes it again.
    """
    event = WebhookEvent.objects.filter(pk=event_id).first()
    if event is None:
        return {"event": event_id, "skipped": "no such webhook delivery"}
    if not event.verified:
        return {"event": event_id, "skipped": "unverified deliveries are never processed"}
    if event.processed and not force:
        return {"event": event_id, "skipped": "already processed"}
    result: dict[str, Any] = {"event": event_id, "pulled": {}, "duplicates": 0}
    try:
        _, notices = parse(event.body.encode("utf-8"))
        fresh = notices if force else _unseen(notices)
        result["duplicates"] = len(notices) - len(fresh)
        for realm in sorted({n.realm_id for n in fresh if n.entity in PULLED_ENTITIES}):
            result["pulled"][realm] = _pull_realm(realm)
        _remember(fresh, event)
    except Exception as exc:  # noqa: BLE001 - kept on the row for Sync Health and replay
        logger.warning("webhook %s failed: %s", event_id, exc)
        known = isinstance(exc, WebhookPullFailed)
        event.error = str(exc) if known else f"{exc.__class__.__name__}: {exc}"
        event.save(update_fields=["error"])
        return {**result, "error": event.error}
    event.processed, event.processed_at, event.error = True, timezone.now(), ""
    event.save(update_fields=["processed", "processed_at", "error"])
    return result


def _pull_realm(realm_id: str) -> dict[str, Any]:
    conn = Connection.objects.filter(
        realm_id=realm_id, status=Connection.Status.CONNECTED
    ).first()
    if conn is None:
        return {"skipped": "no workspace is connected to this QuickBooks company"}
    summary = pull_connection(conn.pk, source="webhook", wait=LOCK_WAIT)
    if summary.get("busy"):
        raise WebhookPullFailed("A pull of this QuickBooks company kept running; replay this "
                          "delivery, or wait for the next scheduled catch-up.")
    if summary.get("error"):
        raise WebhookPullFailed(f"{summary['error']} — {summary.get('fix') or ''}".rstrip(" —"))
    return summary


def _unseen(notices: list[Notice]) -> list[Notice]:
    keys = [n.key for n in notices]
    seen = set(SeenEvent.objects.filter(key__in=keys).values_list("key", flat=True))
    fresh, kept = [], set()
    for notice in notices:
        if notice.key not in seen and notice.key not in kept:
            kept.add(notice.key)
            fresh.append(notice)
    return fresh


def _remember(notices: list[Notice], event: WebhookEvent) -> None:
    SeenEvent.objects.bulk_create(
        [SeenEvent(key=n.key, realm_id=n.realm_id, webhook=event) for n in notices],
        ignore_conflicts=True,
    )


def replay_event(event_id: int) -> WebhookEvent:
    """Process a stored delivery again (Sync Health / admin action), ignoring the
    dedupe keys. Raises ``ValueError`` for deliveries that failed the signature check."""
    event = WebhookEvent.objects.get(pk=event_id)
    if not event.verified:
        raise ValueError("This delivery failed the signature check and is never processed; "
                         "check QBO_SYNC['WEBHOOK_VERIFIER_TOKEN'].")
    event.error = ""
    event.save(update_fields=["error"])
    transaction.on_commit(lambda: dispatch(event.pk, force=True))
    return event
