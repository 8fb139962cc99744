"""What every push handler shares before it writes: the mapping context of the
connection, the marker that finds a record again after an ambiguous create, and the
masked copy of what was sent that Sync Health shows."""

from __future__ import annotations

from typing import Any

from .. import mapping
from ..connection.lists import capabilities_of, tax_code_rates
from ..mapping import MappingContext
from ..models import Connection
from ..qbo.wire import json_safe
from ..sync.job import JobRun
from ..sync.links import marker


def mapping_context(conn: Connection, client: Any) -> MappingContext:
    caps = capabilities_of(conn, client)
    return MappingContext.from_parts(
        caps.as_dict(),
        {
            "invoice_number_strategy": conn.invoice_number_strategy,
            "default_item_id": conn.default_item_id,
            "default_tax_code_id": conn.default_tax_code_id,
            "default_deposit_account_id": conn.default_deposit_account_id,
            "tax_authority": conn.tax_authority,
            "ar_account_id": conn.ar_account_id,
        },
        dict(conn.item_mappings.values_list("category", "item_id")),
        dict(conn.tax_mappings.values_list("tax_rate", "tax_code_id")),
        # From the cached lists only: a stale or empty cache means no TaxLine override,
        # and the check after the write still reports any difference.
        tax_code_rates(conn.lists_cache or {}),
    )


def context(run: JobRun) -> mapping.MappingContext:
    """The run's mapping context, built once (it may cost two metered reads a day)."""
    if run.mapping_context is None:
        run.mapping_context = mapping_context(run.connection, run.client)
    return run.mapping_context


def record(run: JobRun, payload: dict, response: dict | None = None) -> None:
    """Keep the masked payload (and response) on the job for Sync Health."""
    run.job.payload = mapping.mask_payload(json_safe(payload))
    if response is not None:
        run.written = response
        run.job.response = mapping.mask_payload(json_safe(response))


def with_marker(payload: dict, kind: str, key: str) -> dict:
    """Add our marker to PrivateNote (at most 4,000 characters, docs/qbo-rules.md
    §5.2) so a probe can find the record after an ambiguous create."""
    mark = marker(kind, key)
    note = payload.get("PrivateNote") or ""
    note = (note[: 4000 - len(mark) - 1] + "\n" if note else "") + mark
    return {**payload, "PrivateNote": note}
