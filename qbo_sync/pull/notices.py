"""Webhook envelopes: verify the signature and read both payload formats into one
shape (docs/qbo-rules.md §7.2–§7.5). No Django views and no QBO calls here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from django.views.decorators.debug import sensitive_variables

from ..conf import app_settings
from ..exceptions import MalformedDelivery
from ..qbo.client import entity_name
from ..secrets import Secret

#: Operations as legacy payloads name them, from CloudEvents verbs (§7.3).
VERB_OPERATIONS = {"created": "Create", "updated": "Update", "deleted": "Delete",
                   "voided": "Void", "merged": "Merge", "emailed": "Emailed"}
#: Entities whose changes the pull acts on.
PULLED_ENTITIES = {"Invoice", "Payment"}


def pulled(entity: str) -> bool:
    """Whether a change to ``entity`` makes the pull act (Customer: when
    ``PULL_CUSTOMER_CHANGES`` is on)."""
    return entity in PULLED_ENTITIES or (
        entity == "Customer" and bool(app_settings.PULL_CUSTOMER_CHANGES))
MAX_KEY = 255


@dataclass(frozen=True)
class Notice:
    """One entity change from a delivery, whatever the envelope."""

    realm_id: str
    entity: str
    entity_id: str
    operation: str
    key: str  # deduplication key (§7.5)


@sensitive_variables("verifier", "expected")
def signature_ok(body: bytes, signature: str | None, verifier: Secret) -> bool:
    """``intuit-signature`` = base64(HMAC-SHA256(verifier token, raw body)) (§7.4),
    compared in constant time. The verifier is revealed only into the HMAC."""
    verifier = Secret.of(verifier)
    if not verifier or not signature:
        return False
    expected = base64.b64encode(
        hmac.new(verifier.reveal().encode("utf-8"), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("ascii", "replace"))


def _key(text: str) -> str:
    if len(text) <= MAX_KEY:
        return text
    return text[:200] + ":" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def parse(body: bytes | str) -> tuple[str, list[Notice]]:
    """``(envelope, notices)``; raises :class:`MalformedDelivery` with a reason."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise MalformedDelivery(f"The body is not JSON: {err}") from None
    if isinstance(data, dict) and "eventNotifications" in data:
        return "legacy", _legacy(data["eventNotifications"])
    if isinstance(data, dict) and "specversion" in data:
        data = [data]  # a single CloudEvent rather than an array: accept it too
    if isinstance(data, list):
        return "cloudevents", _cloudevents(data)
    raise MalformedDelivery("Expected {\"eventNotifications\": [...]} or a JSON array of "
                            "CloudEvents.")


def _text(value: Any, what: str) -> str:
    if isinstance(value, (str, int)) and str(value).strip():
        return str(value)
    raise MalformedDelivery(f"Missing or invalid {what}.")


def _legacy(notifications: Any) -> list[Notice]:
    # §7.2: one element per realm, entities carry only ids.
    if not isinstance(notifications, list):
        raise MalformedDelivery("eventNotifications must be a list.")
    notices = []
    for item in notifications:
        if not isinstance(item, dict):
            raise MalformedDelivery("Each eventNotifications element must be an object.")
        realm = _text(item.get("realmId"), "realmId")
        entities = (item.get("dataChangeEvent") or {}).get("entities")
        if not isinstance(entities, list):
            raise MalformedDelivery("dataChangeEvent.entities must be a list.")
        for ent in entities:
            if not isinstance(ent, dict):
                raise MalformedDelivery("Each entity must be an object.")
            name = entity_name(_text(ent.get("name"), "entity name"))
            ent_id = _text(ent.get("id"), "entity id")
            operation = _text(ent.get("operation"), "operation")
            updated = str(ent.get("lastUpdated") or "")
            key = _key(f"legacy:{realm}:{name}:{ent_id}:{operation}:{updated}")
            notices.append(Notice(realm, name, ent_id, operation, key))
    return notices


def _cloudevents(events: list[Any]) -> list[Notice]:
    # §7.3: an array, possibly several realms; type is qbo.<entity>.<verb>.v1.
    notices = []
    for ev in events:
        if not isinstance(ev, dict):
            raise MalformedDelivery("Each CloudEvent must be an object.")
        event_id = _text(ev.get("id"), "CloudEvent id")
        realm = _text(ev.get("intuitaccountid"), "intuitaccountid")
        parts = _text(ev.get("type"), "CloudEvent type").split(".")
        if len(parts) < 3 or parts[0] != "qbo":
            raise MalformedDelivery(f"CloudEvent type {ev.get('type')!r} is not "
                                    "qbo.<entity>.<verb>.v1.")
        name = entity_name(parts[1])
        operation = VERB_OPERATIONS.get(parts[2], parts[2].capitalize())
        ent_id = str(ev.get("intuitentityid") or "")
        notices.append(Notice(realm, name, ent_id, operation, _key(f"ce:{event_id}")))
    return notices
