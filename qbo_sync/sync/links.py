"""EntityLink bookkeeping: which host row is which QBO record, and the state of the
last write (QBO id, SyncToken, payload hash, exact-once create mark).

What was last written is stored masked (docs/architecture.md, invariant 5): emails and
phone numbers as :func:`~qbo_sync.mapping.mask_payload` shows them, and, under the
:data:`DIGESTS` key, a keyed digest (HMAC-SHA256 with ``SECRET_KEY``) of each value the
masking changed. Whoever compares a stored payload with a record (the accountant-edit
check, the customer sparse update) asks :func:`as_written`, which puts a record's value
back wherever its digest matches ours, so an unchanged email compares equal and a
changed one does not, without the email being kept.
"""

from __future__ import annotations

import copy
import hmac
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, router, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from ..conf import app_settings
from ..mapping import content_hash, mask_payload
from ..models import Connection, EntityLink, LinkStatus
from ..qbo.wire import json_safe

CREATING = LinkStatus.CREATING
#: The key of a stored payload that holds the digests of its masked values, by path
#: ("PrimaryEmailAddr.Address", "Line.0.Description"). No QBO field has a colon.
DIGESTS = "qbo_sync:digests"
_SALT = "qbo_sync.links.written-value"


#: Links a batch run has read (:func:`remembered`): ``None`` for a link known not to
#: exist. Keyed by connection, content type, object id and variant.
_known: ContextVar[dict[tuple[int, int, str, str], EntityLink | None] | None] = ContextVar(
    "qbo_sync_known_links", default=None)


@contextmanager
def remembered(conn: Connection, model: type, object_ids: Iterable[str]) -> Iterator[None]:
    """Within the block, links are read once: those of ``object_ids`` (of ``model``)
    in one query (besides those an enclosing block read), any other on first use; each
    lookup after that answers from memory with the same object, which every write here
    keeps up to date. A batch run holds one for each kind it writes (``sync/batch.py``);
    the create mark is still taken in the database (:func:`start_create`), so a link
    changed by another worker meanwhile is caught there, as it would be between a read
    and the mark."""
    ct = ContentType.objects.get_for_model(model)
    ids = [str(pk) for pk in object_ids]
    known: dict[tuple[int, int, str, str], EntityLink | None] = {
        **(_known.get() or {}), **{(conn.pk, ct.pk, pk, ""): None for pk in ids}}
    for link in EntityLink.objects.filter(connection=conn, content_type=ct,
                                          object_id__in=ids):
        known[(conn.pk, ct.pk, link.object_id, link.variant)] = link
    token = _known.set(known)
    try:
        yield
    finally:
        _known.reset(token)


def _key(conn: Connection, obj: Any, variant: str) -> tuple[int, int, str, str]:
    return (conn.pk, ContentType.objects.get_for_model(type(obj)).pk, str(obj.pk), variant)


def get_link(conn: Connection, obj: Any, qbo_type: str, variant: str = "") -> EntityLink:
    known, key = _known.get(), _key(conn, obj, variant)
    if known is not None and known.get(key) is not None:
        return known[key]
    fields = {"connection": conn, "content_type_id": key[1], "object_id": key[2],
              "variant": variant}
    if known is not None and key in known:  # known not to exist: no read first
        alias = router.db_for_write(EntityLink)
        # A lone INSERT outside a transaction needs none of its own; inside one, a
        # savepoint keeps the transaction usable if the INSERT is refused.
        guard = (transaction.atomic(using=alias)
                 if transaction.get_connection(alias).in_atomic_block else nullcontext())
        try:
            with guard:
                link = EntityLink.objects.create(**fields, qbo_type=qbo_type, qbo_status="")
        except IntegrityError:  # another worker wrote it since
            link = EntityLink.objects.get(**fields)
    else:
        link, _ = EntityLink.objects.get_or_create(
            **fields, defaults={"qbo_type": qbo_type, "qbo_status": ""})
    if known is not None:
        known[key] = link
    return link


def find_link(conn: Connection, obj: Any, variant: str = "") -> EntityLink | None:
    known, key = _known.get(), _key(conn, obj, variant)
    if known is not None and key in known:
        return known[key]
    link = EntityLink.objects.filter(
        connection=conn, content_type_id=key[1], object_id=key[2], variant=variant
    ).first()
    if known is not None and link is not None:
        known[key] = link
    return link


def start_create(link: EntityLink) -> bool:
    """Mark the link "creating" unless another worker is creating it right now.

    The mark stays after an ambiguous failure (timeout, 5xx, lost response), so the
    next attempt knows to look in QBO before creating again (docs/architecture.md, invariant 2).
    Returns False when someone else holds a fresh mark.
    """
    now = timezone.now()
    taken = EntityLink.objects.filter(pk=link.pk, qbo_id="").filter(
        ~Q(qbo_status=CREATING) | Q(updated_at__lt=_lease_start())
    ).update(qbo_status=CREATING, updated_at=now)
    if taken:
        # A link with no QBO id changes only by its create mark, which this UPDATE set.
        link.qbo_status, link.updated_at = CREATING, now
    else:
        link.refresh_from_db()
    return bool(taken)


def _lease_start() -> Any:
    return timezone.now() - timedelta(seconds=int(app_settings.JOB_LEASE_SECONDS))


def create_in_flight(link: EntityLink) -> bool:
    """Another worker holds a fresh "creating" mark: its create may be on the wire."""
    return (link.qbo_status == CREATING and not link.qbo_id
            and link.updated_at >= _lease_start())


def forget_create(link: EntityLink) -> None:
    """The probe found nothing for an ambiguous create: it never reached QBO."""
    EntityLink.objects.filter(pk=link.pk, qbo_id="").update(qbo_status=LinkStatus.NEW)
    link.refresh_from_db()


def was_ambiguous(link: EntityLink) -> bool:
    """A previous create may have reached QBO without us learning the id."""
    return link.qbo_status == CREATING and not link.qbo_id


def record_write(link: EntityLink, obj: dict, payload: dict, *,
                 status: str = LinkStatus.ACTIVE) -> None:
    """Store what QBO answered the moment we know it."""
    link.qbo_id = str(obj.get("Id", link.qbo_id))
    link.sync_token = str(obj.get("SyncToken", link.sync_token))
    link.doc_number = str(obj.get("DocNumber") or "")[:32]
    link.last_payload = stored_payload(payload)
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


def record_found(link: EntityLink, obj: dict, payload: dict) -> None:
    """Link a record QBO already held (found by a probe or replayed), storing that
    record as the last write, so the next compare is against what QBO holds. The hash
    is cleared: the host's data has not been written yet."""
    record_write(link, obj, {k: obj[k] for k in payload if k in obj})
    link.content_hash = ""
    link.save(update_fields=["content_hash", "updated_at"])


# Our marker: how a record we wrote is known again ------------------------------------


def marker(kind: str, key: str) -> str:
    """Text written into a record's PrivateNote so we can find it again after an
    ambiguous create, and so a pull knows it for ours (docs/architecture.md, invariant 2)."""
    return f"[qbo_sync {kind} {key}]"


_MARK = re.compile(r"\[qbo_sync (\w+) ([^\]\s]+)\]")


def marked_links(conn: Connection, qbo_type: str, kind: str,
                 records: Iterable[dict]) -> dict[str, EntityLink]:
    """QBO records carrying our ``kind`` marker for a link of this connection, by their
    Id: records we wrote, though the create's answer may not have reached us yet."""
    keys: dict[str, str] = {}
    for record in records:
        for found_kind, key in _MARK.findall(str(record.get("PrivateNote") or "")):
            if found_kind == kind:
                keys[str(record.get("Id"))] = key
    if not keys:
        return {}
    by_key = {link.object_id: link for link in EntityLink.objects.filter(
        connection=conn, qbo_type=qbo_type, object_id__in=set(keys.values()))}
    out = {}
    for qbo_id, key in keys.items():
        link = by_key.get(key)
        if link is not None and link.qbo_id in ("", qbo_id):
            out[qbo_id] = link
    return out


# What was written, masked --------------------------------------------------------------


def stored_payload(payload: Any) -> dict[str, Any]:
    """``payload`` as a link keeps it: masked, with the digests of what masking hid."""
    plain = json_safe(payload)
    masked = mask_payload(plain)
    digests: dict[str, str] = {}
    _hidden(plain, masked, "", digests)
    if digests:
        masked[DIGESTS] = digests
    return masked


def as_written(stored: dict[str, Any], record: Any) -> dict[str, Any]:
    """A stored payload to compare with ``record`` (QBO's object, or a payload about
    to be sent): each masked value is replaced by the record's value at the same path
    when that value is the one we wrote (its digest matches); one that differs stays
    masked, so it still compares unequal. A payload stored before masking is returned
    as it is."""
    digests = stored.get(DIGESTS) if isinstance(stored, dict) else None
    out = {k: v for k, v in (stored or {}).items() if k != DIGESTS}
    if not isinstance(digests, dict) or not digests:
        return out
    out = copy.deepcopy(out)
    for path, digest in digests.items():
        theirs = _at(record, path)
        if isinstance(theirs, str) and _matches(theirs, digest):
            _put(out, path, theirs)
    return out


def _hidden(plain: Any, masked: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(plain, dict):
        for key, value in plain.items():
            _hidden(value, masked.get(key), f"{path}.{key}" if path else str(key), out)
    elif isinstance(plain, list):
        for i, value in enumerate(plain):
            _hidden(value, masked[i], f"{path}.{i}" if path else str(i), out)
    elif isinstance(plain, str) and plain != masked:
        out[path] = _digest(plain, settings.SECRET_KEY)


def _digest(value: str, key: str) -> str:
    # Surrounding blanks do not count: the accountant-edit check ignores them too.
    return salted_hmac(_SALT, value.strip(), secret=key, algorithm="sha256").hexdigest()


def _matches(value: str, digest: str) -> bool:
    # Keys rotated with SECRET_KEY_FALLBACKS still recognise what the old key wrote.
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(hmac.compare_digest(_digest(value, key), str(digest)) for key in keys)


def _at(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def _put(obj: Any, path: str, value: str) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    if isinstance(obj, list):
        obj[int(last)] = value
    else:
        obj[last] = value
