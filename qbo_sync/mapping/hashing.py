"""Payload fingerprints (skip unchanged records) and masking (store payloads safely)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Keys that change with every write but say nothing about the record's content.
VOLATILE_KEYS = frozenset({"Id", "SyncToken", "sparse"})

_EMAIL_RE = re.compile(r"[^\s@,;<>()\"']+@([^\s@,;<>()\"']+\.[^\s@,;<>()\"']+)")


def _canonical_number(value: Decimal) -> str:
    """Numerically equal values give the same text: 1.0, 1.00 and 1 → "1".

    QBO stores a number, not its scale, so a host that sometimes says 1.0 and
    sometimes 1.00 has not changed anything worth sending.
    """
    if value.is_zero():
        return "0"  # also folds -0
    return format(value.normalize(), "f")


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        return _canonical_number(value)
    if isinstance(value, int):
        return _canonical_number(Decimal(value))
    if isinstance(value, float):
        # Money is Decimal end to end; a float here is a bug worth hearing about.
        raise TypeError("payloads must carry Decimal, not float")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    raise TypeError(f"cannot hash a {type(value).__name__} in a payload")


def content_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the payload's canonical JSON.

    Canonical: sorted keys, no whitespace, numbers (``Decimal``/``int``) as normalised
    strings, so key order and scale (``Decimal("1.0")`` vs ``Decimal("1.00")``) do not
    change the hash. Top-level ``Id``, ``SyncToken`` and ``sparse`` are ignored, so a
    create body and the same body as a full update hash alike. List order counts:
    line order is part of the record.
    """
    body = {k: v for k, v in payload.items() if k not in VOLATILE_KEYS}
    text = json.dumps(
        _canonical(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def mask_email(value: str) -> str:
    """``jane.doe@example.com`` → ``***@example.com`` (every address in the text)."""
    return _EMAIL_RE.sub(lambda m: f"***@{m.group(1)}", value)


def mask_phone(value: str) -> str:
    """Every digit but the last two becomes ``*``; spacing and signs stay."""
    total = sum(ch.isdigit() for ch in value)
    seen = 0
    out = []
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - 2 else "*")
        else:
            out.append(ch)
    return "".join(out)


def mask_payload(payload: Any) -> Any:
    """A copy safe to store in Sync Health: email local parts and phone digits masked
    (phones under ``FreeFormNumber``, emails anywhere in any string), everything else,
    amounts included, unchanged. The input is not modified."""
    if isinstance(payload, Mapping):
        result = {}
        for key, value in payload.items():
            if key == "FreeFormNumber" and isinstance(value, str):
                result[key] = mask_email(mask_phone(value))
            else:
                result[key] = mask_payload(value)
        return result
    if isinstance(payload, list | tuple):
        return [mask_payload(v) for v in payload]
    if isinstance(payload, str):
        return mask_email(payload)
    return payload
