"""QBO webhook deliveries: accepted, stored and processed (docs/qbo-rules.md §7).

Accepting (behind the view in :mod:`qbo_sync.views`) only checks, stores and
acknowledges: QBO wants a 200 within 3 seconds and holds later events while one fails
(§7.5), so it makes no QBO call. The body is bounded (``WEBHOOK_MAX_BYTES``, 413) and
its signature is checked before anything is written: an unsigned or wrongly signed
delivery is answered 401 and only counted (:class:`~qbo_sync.models.WebhookRejection`,
one small row per day and reason), never stored.

A signed delivery is stored, then its companies are queued for processing, at most
one waiting task per company (``Connection.webhook_pull_queued_at``): a burst of
deliveries for one company costs one task and one pull, not one per delivery. The
task reads every pending delivery of its company, skips events already seen (by their
keys), and pulls the company once, through CDC rather than one GET per id (§7.5 step
3); the pull never runs twice at once for the same company.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from itertools import islice
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from ..conf import app_settings
from ..exceptions import MalformedDelivery, WebhookPullBusy, WebhookPullFailed
from ..models import Connection, SeenEvent, WebhookEvent, WebhookRejection
from ..secrets import Secret
from ..sync.queue import queue_task
from .cycle import pull_connection
from .notices import Notice, parse, pulled, signature_ok

logger = logging.getLogger("qbo_sync.webhooks")

#: A delivery that meets a running pull of its company is tried again this much later
#: (by the sweeper), rather than holding a worker while it waits.
BUSY_DELAY = timedelta(seconds=15)
#: Backoff of a delivery whose processing failed: doubling from the first, up to the cap.
RETRY_FIRST = timedelta(seconds=30)
RETRY_CAP = timedelta(minutes=30)
#: Request headers never stored.
PRIVATE_HEADERS = {"cookie", "authorization", "proxy-authorization"}
#: A company's queued mark older than this is taken to be a lost task, and the next
#: delivery (or the sweeper) queues another; a delivery stored this long ago and never
#: processed is stranded, and the sweeper queues its company.
QUEUED_LEASE = timedelta(minutes=2)
#: Pending deliveries one task processes; more are left to the next task it queues.
REALM_BATCH = 200

Reason = WebhookRejection.Reason
UNSIGNED = "Invalid intuit-signature."


class Readable(Protocol):
    """A request body stream (Django's ``HttpRequest`` is one)."""

    def read(self, size: int = -1, /) -> bytes: ...



def too_large_message(limit: int) -> str:
    return (f"The delivery is larger than {limit} bytes (QBO_SYNC['WEBHOOK_MAX_BYTES']); "
            "QuickBooks' notifications carry only ids and are far smaller.")


def receive(stream: Readable, headers: Mapping[str, str],
            content_length: str | int | None) -> tuple[int, str]:
    """The endpoint's whole work: refuse a body over ``WEBHOOK_MAX_BYTES`` (by its
    declared length before reading anything, then by reading at most one byte more
    than the limit), then :func:`accept` it. Returns the HTTP status and message."""
    if not app_settings.WEBHOOKS_ENABLED:
        return _disabled()
    limit = int(app_settings.WEBHOOK_MAX_BYTES)
    try:
        declared = int(content_length or 0)
    except (TypeError, ValueError):
        declared = 0
    if declared > limit:
        count_rejection(Reason.TOO_LARGE)
        return 413, too_large_message(limit)
    body = stream.read(limit + 1)
    if len(body) > limit:
        count_rejection(Reason.TOO_LARGE, body)
        return 413, too_large_message(limit)
    return accept(body, headers)


def _disabled() -> tuple[int, str]:
    return 404, ("QuickBooks webhooks are off: set QBO_SYNC['WEBHOOKS_ENABLED'] = True "
                 "to receive them.")


@sensitive_variables("verifier")
def accept(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
    """Verify one delivery, store it if signed and queue its companies' processing;
    returns the HTTP status and message the endpoint answers with. Makes no QBO call.
    The verifier token is a :class:`~qbo_sync.secrets.Secret` from the moment it is
    read (invariant 5)."""
    if not app_settings.WEBHOOKS_ENABLED:
        return _disabled()
    if len(body) > int(app_settings.WEBHOOK_MAX_BYTES):
        count_rejection(Reason.TOO_LARGE, body)
        return 413, too_large_message(int(app_settings.WEBHOOK_MAX_BYTES))
    verifier = Secret.of(app_settings.WEBHOOK_VERIFIER_TOKEN)
    signature = headers.get("intuit-signature")
    if not signature_ok(body, signature, verifier):
        # Nothing of it is stored: a forger must not be able to fill the database.
        reason = (Reason.NO_VERIFIER if not verifier else
                  Reason.UNSIGNED if not signature else Reason.BAD_SIGNATURE)
        if reason == Reason.NO_VERIFIER:
            logger.warning("webhook refused: QBO_SYNC['WEBHOOK_VERIFIER_TOKEN'] is not set; "
                           "copy the verifier token from the Intuit developer portal "
                           "(your app → Webhooks) into the settings")
        count_rejection(reason, body)
        return 401, UNSIGNED
    kept = {k: v for k, v in headers.items() if k.lower() not in PRIVATE_HEADERS}
    # Valid JSON holds no raw NUL, and PostgreSQL cannot store one in text.
    text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")
    event = WebhookEvent(headers=kept, body=text, verified=True)
    try:
        event.envelope, notices = parse(body)
    except MalformedDelivery as err:
        event.error = str(err)
        event.save()
        return 400, str(err)
    event.realm_ids = sorted({n.realm_id for n in notices})
    event.save()
    realms = list(event.realm_ids)
    transaction.on_commit(lambda: queue_realms(realms))
    return 200, "Received."


def count_rejection(reason: str, body: bytes = b"") -> None:
    """Count one refused delivery in today's row for ``reason``: one UPDATE, or one
    INSERT for the day's first (with the first :attr:`WebhookRejection.SAMPLE_BYTES`
    bytes of its body as a sample)."""
    now = timezone.now()
    day = timezone.localdate(now)
    rows = WebhookRejection.objects.filter(day=day, reason=reason)
    if rows.update(count=F("count") + 1, last_seen=now):
        return
    sample = body[:WebhookRejection.SAMPLE_BYTES].decode("utf-8", "replace")
    try:
        with transaction.atomic():
            WebhookRejection.objects.create(day=day, reason=reason, count=1, first_seen=now,
                                            last_seen=now, sample=sample.replace("\x00", "\ufffd"))
    except IntegrityError:  # another request created the day's row meanwhile
        rows.update(count=F("count") + 1, last_seen=now)


# Queueing, at most one waiting task per company ------------------------------------------


def queue_realms(realm_ids: list[str]) -> None:
    """Make sure a task will process each company's pending deliveries.

    A company with a task already waiting gets nothing more (that task reads the new
    delivery too). A company no workspace is connected to has nothing to pull: its
    deliveries are settled here, without any QBO call.
    """
    for realm in realm_ids:
        if _claim(realm):
            queued = queue_task("qbo_sync.tasks.process_webhooks", realm,
                                name=f"qbo_sync webhooks {realm}")
            if not queued:  # the broker refused: let the next delivery try again
                _release(realm)
        elif not _connected(realm).exists():
            process_realm(realm)


def _connected(realm_id: str):  # noqa: ANN202 - a QuerySet[Connection]
    return Connection.objects.filter(realm_id=realm_id, status=Connection.Status.CONNECTED)


def _claim(realm_id: str) -> bool:
    now = timezone.now()
    free = Q(webhook_pull_queued_at__isnull=True) | Q(webhook_pull_queued_at__lt=now - QUEUED_LEASE)
    return bool(_connected(realm_id).filter(free).update(webhook_pull_queued_at=now))


def _release(realm_id: str) -> None:
    Connection.objects.filter(realm_id=realm_id).update(webhook_pull_queued_at=None)


def process_realm(realm_id: str) -> dict[str, Any]:
    """Process every pending delivery of one company: one pull for all of them.

    The company's queued mark is dropped first, so a delivery stored from then on
    queues the next task (at most one waits while this one runs). Events already seen
    are skipped (§7.5 deduplication). Deliveries are read :data:`REALM_BATCH` at a time;
    once a pull has succeeded, every delivery stored before it began is covered by its
    window and settles without another pull. On failure the deliveries keep
    ``processed=False`` and the error, and no key is recorded; the sweeper tries them
    again with backoff (a replay does so at once). Behind a running pull they are
    postponed, not failed.
    """
    _release(realm_id)
    result: dict[str, Any] = {"realm": realm_id, "events": 0, "duplicates": 0, "processed": 0}
    covered: Any = None  # deliveries stored before this moment are in a pull's window
    after = 0
    while True:
        events, more = _pending(realm_id, after=after, before=covered)
        if not events:
            break
        after = events[-1].pk
        result["events"] += len(events)
        outcome = _process_batch(realm_id, events, pull=covered is None)
        if "pulled" in outcome:
            covered = outcome.pop("covered")
            result["pulled"] = outcome["pulled"]
        result["duplicates"] += outcome.get("duplicates", 0)
        if "error" in outcome or "busy" in outcome:
            return {**result, **{k: v for k, v in outcome.items() if k in ("error", "busy")}}
        result["processed"] += _settle(events)
        if not more:
            break
    if covered is not None and _pending(realm_id)[0]:
        queue_realms([realm_id])  # stored while the pull ran: the next task pulls again
    return result


def _process_batch(realm_id: str, events: list[WebhookEvent], *, pull: bool) -> dict[str, Any]:
    """Pull (when ``pull`` and a fresh event asks for it) and record the batch's keys."""
    notices = {e.pk: _notices(e, realm_id) for e in events}
    fresh = _unseen([n for ns in notices.values() for n in ns])
    out: dict[str, Any] = {"duplicates": sum(len(ns) for ns in notices.values()) - len(fresh)}
    try:
        if pull and any(pulled(n.entity) for n in fresh):
            # Taken before the pull: what was stored by now is inside its window.
            covered = timezone.now()
            out["pulled"], out["covered"] = _pull_realm(realm_id), covered
        owner = {}
        for event in events:
            for n in notices[event.pk]:
                owner.setdefault(n.key, event)
        SeenEvent.objects.bulk_create(
            [SeenEvent(key=n.key, realm_id=n.realm_id, webhook=owner[n.key]) for n in fresh],
            ignore_conflicts=True,
        )
    except WebhookPullBusy as exc:
        _postpone(events)
        out["busy"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - kept on the rows, retried with backoff
        logger.warning("webhooks for realm %s failed: %s", realm_id, exc)
        out["error"] = _failed(events, exc)
    return out


def _postpone(events: list[WebhookEvent]) -> None:
    """Another pull holds the company: try these again shortly (not a failure)."""
    WebhookEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        next_attempt_at=timezone.now() + BUSY_DELAY)


def _failed(events: list[WebhookEvent], exc: Exception) -> str:
    """Keep the error on the deliveries and schedule their next try (issue 16, defect 8:
    nothing waits for a person pressing Replay)."""
    error = str(exc) if isinstance(exc, WebhookPullFailed) else (
        f"{exc.__class__.__name__}: {exc}")
    now = timezone.now()
    for event in events:
        attempts = event.attempts + 1
        delay = min(RETRY_FIRST * 2 ** min(attempts - 1, 16), RETRY_CAP)
        WebhookEvent.objects.filter(pk=event.pk).update(
            error=error, attempts=attempts, next_attempt_at=now + delay)
    return error


def _due() -> Q:
    return Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now())


def _pending(realm_id: str, *, after: int = 0,
             before: Any = None) -> tuple[list[WebhookEvent], bool]:
    """The company's stored deliveries not processed yet and due (oldest first, past
    ``after``, stored before ``before`` when given, at most :data:`REALM_BATCH`), and
    whether more are waiting."""
    rows = WebhookEvent.objects.filter(_due(), verified=True, processed=False, pk__gt=after)
    if before is not None:
        rows = rows.filter(received_at__lt=before)
    if realm_id.isascii() and realm_id.isalnum():  # realm ids are digits
        # Its quoted JSON text narrows the rows on every database (SQLite has no JSON
        # containment); the exact test is done below.
        rows = rows.filter(realm_ids__icontains=f'"{realm_id}"')
    mine = (pk for pk, realms in rows.order_by("pk").values_list("pk", "realm_ids").iterator()
            if realm_id in (realms or []))
    ids = list(islice(mine, REALM_BATCH + 1))
    events = list(WebhookEvent.objects.filter(pk__in=ids[:REALM_BATCH]).order_by("pk"))
    return events, len(ids) > REALM_BATCH


def _notices(event: WebhookEvent, realm_id: str) -> list[Notice]:
    _, notices = parse(event.body.encode("utf-8"))
    return [n for n in notices if n.realm_id == realm_id]


def _settle(events: list[WebhookEvent]) -> int:
    """Mark processed each delivery whose every event (all its companies) is seen."""
    keys = {e.pk: {n.key for n in parse(e.body.encode("utf-8"))[1]} for e in events}
    seen = set(SeenEvent.objects.filter(key__in=set().union(*keys.values()))
               .values_list("key", flat=True))
    done = [pk for pk, ks in keys.items() if ks <= seen]
    WebhookEvent.objects.filter(pk__in=done).update(processed=True, processed_at=timezone.now(),
                                                    error="")
    return len(done)


# One delivery at a time: replays, and tasks queued by earlier versions ------------------


def dispatch(event_id: int, *, force: bool = False) -> None:
    """Hand one stored delivery to a worker (a replay; if the broker refuses, the
    delivery stays stored and the scheduled CDC catch-up reads the change anyway)."""
    queue_task("qbo_sync.tasks.process_webhook", event_id, force=force,
               name=f"qbo_sync webhook {event_id}")


def process_event(event_id: int, *, force: bool = False) -> dict[str, Any]:
    """Process one stored, verified delivery: pull each company with new events.

    Events already seen are skipped (§7.5 deduplication), unless ``force`` (a replay).
    On failure the delivery keeps ``processed=False`` and the error, and no key is
    recorded; the sweeper tries it again with backoff.
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
        for realm in sorted({n.realm_id for n in fresh if pulled(n.entity)}):
            result["pulled"][realm] = _pull_realm(realm)
        _remember(fresh, event)
    except WebhookPullBusy as exc:
        _postpone([event])
        return {**result, "busy": str(exc)}
    except Exception as exc:  # noqa: BLE001 - kept on the row, retried with backoff
        logger.warning("webhook %s failed: %s", event_id, exc)
        return {**result, "error": _failed([event], exc)}
    event.processed, event.processed_at, event.error = True, timezone.now(), ""
    event.save(update_fields=["processed", "processed_at", "error"])
    return result


def _pull_realm(realm_id: str) -> dict[str, Any]:
    conn = Connection.objects.filter(
        realm_id=realm_id, status=Connection.Status.CONNECTED
    ).first()
    if conn is None:
        return {"skipped": "no workspace is connected to this QuickBooks company"}
    summary = pull_connection(conn.pk, source="webhook")
    if summary.get("busy"):
        raise WebhookPullBusy("A pull of this QuickBooks company is running; the delivery "
                              "is processed again shortly.")
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
    event.error, event.next_attempt_at = "", None
    event.save(update_fields=["error", "next_attempt_at"])
    transaction.on_commit(lambda: dispatch(event.pk, force=True))
    return event


def sweep_deliveries(limit: int = 1000) -> int:
    """Queue processing for every company with deliveries due again (failed, or
    postponed behind a running pull) or stranded (stored longer than
    :data:`QUEUED_LEASE` ago and never processed: their task was lost). Runs with the
    job sweeper; returns how many companies were queued."""
    stranded = timezone.now() - QUEUED_LEASE
    rows = WebhookEvent.objects.filter(verified=True, processed=False).filter(
        Q(next_attempt_at__lte=timezone.now())
        | Q(next_attempt_at__isnull=True, received_at__lt=stranded))
    realms: set[str] = set()
    for ids in rows.order_by("pk").values_list("realm_ids", flat=True)[:limit]:
        realms.update(str(r) for r in ids or [])
    queue_realms(sorted(realms))
    return len(realms)
