"""Host-model signal handlers: decide the intent and write the outbox row, nothing
else. No QBO call ever happens here (docs/architecture.md, invariant 4): a save costs
one INSERT for the job, which checks the connection this process remembers
(``outbox.connection_snapshot``); a SELECT for it only the first time, or once it
changed."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import partial
from typing import Any

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.db.models.signals import post_delete, post_init, post_save

from .adapters import KINDS, get_adapter
from .conf import app_settings
from .models import EntityLink, JobAction, JobTrigger, LinkStatus, SyncJob
from .push import settle
from .sync import outbox

_state = threading.local()
SNAPSHOT = "_qbo_sync_snapshot"


@contextmanager
def muted():
    """Saves inside this block queue nothing (bulk imports, demo resets)."""
    previous = getattr(_state, "muted", False)
    _state.muted = True
    try:
        yield
    finally:
        _state.muted = previous


def is_muted() -> bool:
    return getattr(_state, "muted", False)


def connect() -> None:
    """Connect handlers for every configured adapter. Called from AppConfig.ready()."""
    for kind in KINDS:
        adapter = get_adapter(kind)
        if adapter is None or not adapter.model:
            continue
        model = apps.get_model(adapter.model)
        post_init.connect(partial(_snapshot, kind), sender=model, weak=False,
                          dispatch_uid=f"qbo_sync.snapshot.{kind}")
        post_save.connect(partial(_saved, kind), sender=model, weak=False,
                          dispatch_uid=f"qbo_sync.saved.{kind}")
        if kind in outbox.GONE_KINDS:
            post_delete.connect(partial(_deleted, kind), sender=model, weak=False,
                                dispatch_uid=f"qbo_sync.deleted.{kind}")
        for label, parent_attr in getattr(adapter, "related_models", {}).items():
            related = apps.get_model(label)
            handler = partial(_related_changed, kind, parent_attr)
            post_save.connect(handler, sender=related, weak=False,
                              dispatch_uid=f"qbo_sync.related.{kind}.{label}.save")
            post_delete.connect(handler, sender=related, weak=False,
                                dispatch_uid=f"qbo_sync.related.{kind}.{label}.delete")


def _watched(adapter: Any, instance: Any) -> dict[str, Any]:
    fields = adapter.watched_fields
    if not fields:
        return {}
    return {name: instance.__dict__.get(_attname(instance, name)) for name in fields}


def _attname(instance: Any, name: str) -> str:
    try:
        return instance._meta.get_field(name).attname
    except Exception:  # noqa: BLE001 - a plain attribute, not a model field
        return name


def _snapshot(kind: str, sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is None:
        return
    adapter = get_adapter(kind)
    snap = {"fields": _watched(adapter, instance)}
    if kind == "invoice":
        snap["status"] = adapter.status_of(instance)
    instance.__dict__[SNAPSHOT] = snap


def _saved(kind: str, sender: Any, instance: Any, created: bool, raw: bool = False,
           **kwargs: Any) -> None:
    if raw or is_muted():
        return
    adapter = get_adapter(kind)
    before = None if created else instance.__dict__.get(SNAPSHOT)
    # The next save of this same instance compares against what was just saved.
    _snapshot(kind, sender, instance)
    # The connection as this process last read it, shared by the decision and the
    # outbox row, which checks it in its INSERT; a workspace with no connection costs
    # one SELECT (docs/architecture.md, invariant 4).
    workspace = adapter.workspace_of(instance)
    try:
        _push(kind, adapter, instance, before, outbox.connection_snapshot(workspace))
    except outbox.StaleConnection:
        _push(kind, adapter, instance, before, outbox.connection_for(workspace))


def _push(kind: str, adapter: Any, instance: Any, before: dict | None, conn: Any) -> None:
    if conn is None:
        return
    action = decide(kind, adapter, instance, before, conn=conn)
    if action:
        outbox.enqueue(kind, instance, action=action, connection=conn,
                       trigger=JobTrigger.SAVE)
    if kind == "invoice" and _paid_without_payment(adapter, instance, before):
        outbox.enqueue(kind, instance, action=JobAction.SETTLE, connection=conn,
                       trigger=JobTrigger.SAVE)


def _paid_without_payment(adapter: Any, instance: Any, before: dict | None) -> bool:
    """Just marked paid, linked, and its payment records leave part of it unpaid: the
    rest is pushed as a payment (``push/settle.py``)."""
    if adapter.status_of(instance) != "paid" or (before or {}).get("status") != "sent":
        return False
    return settle.can_settle(adapter) and _linked(instance) and (
        settle.unrecorded(adapter, instance) > 0)


def decide(kind: str, adapter: Any, instance: Any, before: dict | None, *,
           conn: Any = None) -> str | None:
    """The push intent for a save, or None when QBO needs nothing. ``conn``: the
    workspace's connection, when the caller already has it."""
    edited = before is None or not adapter.watched_fields or (
        _watched(adapter, instance) != before.get("fields")
    )
    if kind != "invoice":
        if not adapter.should_sync(instance) or not edited:
            return None
        return outbox.PUSH_ACTIONS[kind]
    status = adapter.status_of(instance)
    previous = before.get("status") if before else None
    if status == "void":
        linked = previous not in ("void", "draft", None) or _linked(instance)
        return JobAction.VOID if linked else None
    if status == "draft" or not adapter.should_sync(instance):
        return None
    if previous in (None, "draft"):
        return JobAction.SYNC if _in_scope(adapter, instance, conn) else None
    return JobAction.SYNC if edited else None


def _deleted(kind: str, sender: Any, instance: Any, **kwargs: Any) -> None:
    """A synced invoice or payment deleted in the app: queue its removal from
    QuickBooks (``INVOICE_DELETE`` for invoices). One that never reached QuickBooks, and
    has no push on its way, costs two SELECTs and writes nothing."""
    if is_muted() or instance.pk is None:
        return
    if kind == "invoice" and str(app_settings.INVOICE_DELETE) == "keep":
        return
    ct = ContentType.objects.get_for_model(type(instance))
    live = EntityLink.objects.filter(content_type=ct, object_id=str(instance.pk)).filter(
        ~Q(qbo_id="") | Q(qbo_status=LinkStatus.CREATING)).exists()
    waiting = live or SyncJob.objects.filter(
        content_type=ct, object_id=str(instance.pk), direction=SyncJob.Direction.PUSH,
        status__in=[SyncJob.Status.PENDING, SyncJob.Status.RUNNING]).exists()
    if waiting:
        outbox.enqueue(kind, instance, action=JobAction.VOID, trigger=JobTrigger.DELETE)


def _linked(instance: Any) -> bool:
    ct = ContentType.objects.get_for_model(type(instance))
    return EntityLink.objects.filter(content_type=ct, object_id=str(instance.pk)).exists()


def _in_scope(adapter: Any, instance: Any, conn: Any = None) -> bool:
    """Invoices dated before the connection sync only through the manual / historical
    sync, so connecting never floods QBO with old invoices."""
    conn = conn or outbox.connection_for(adapter.workspace_of(instance))
    if conn is None or conn.connected_at is None:
        return False
    issued = adapter.issue_date_of(instance)
    if issued is None or issued >= conn.connected_at.date() or _linked(instance):
        return True
    # Not pushing is checked by no INSERT: a remembered connection is read again first.
    return outbox.is_snapshot(conn) and _in_scope(adapter, instance)


def _related_changed(kind: str, parent_attr: str, sender: Any, instance: Any,
                     raw: bool = False, **kwargs: Any) -> None:
    if raw or is_muted():
        return
    parent = getattr(instance, parent_attr, None)
    if parent is None:
        return
    adapter = get_adapter(kind)
    if kind == "invoice" and adapter.status_of(parent) not in ("sent", "paid"):
        return
    if adapter.should_sync(parent):
        outbox.enqueue(kind, parent, action=outbox.PUSH_ACTIONS[kind],
                       trigger=JobTrigger.SAVE)
