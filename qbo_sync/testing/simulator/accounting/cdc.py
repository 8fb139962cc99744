"""GET /cdc: objects changed since a time, grouped per entity, ordered by
LastUpdatedTime, deleted ones after the active ones, at most 1000 in all (docs/qbo-rules.md §6)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ..entities import ENTITY_NAMES, business, parse_time, render, required
from .names import with_computed

if TYPE_CHECKING:
    from ..store import Store

WINDOW = timedelta(days=30)
MAX_OBJECTS = 1000
NOT_SUPPORTED = {"TaxCode", "TaxRate", "CompanyInfo", "Preferences", "TimeActivity"}


def _changed(obj: dict) -> str:
    return obj["MetaData"]["LastUpdatedTime"]


def run_cdc(store: Store, realm_id: str, params: dict[str, str]) -> dict:
    names = [n.strip() for n in (params.get("entities") or "").split(",") if n.strip()]
    if not names:
        raise required("entities")
    text = params.get("changedSince") or ""
    if not text:
        raise required("changedSince")
    try:
        since = parse_time(text)
    except ValueError:
        raise business(f"changedSince {text!r} is not an ISO date or date-time such as "
                       "2026-07-01T00:00:00-07:00.", "changedSince") from None
    if since < store.clock.now() - WINDOW:
        raise business("changedSince must be within the last 30 days; for older changes "
                       "query by MetaData.LastUpdatedTime instead.", "changedSince")
    groups, budget = [], MAX_OBJECTS
    for name in names:
        entity = ENTITY_NAMES.get(name.lower())
        if entity is None or entity in NOT_SUPPORTED:
            raise business(f"CDC does not support entity {name!r}.", "entities")

        def recent(objs: list[dict]) -> list[dict]:
            return sorted((o for o in objs if parse_time(_changed(o)) >= since), key=lambda o:
                          (parse_time(_changed(o)), int(o["Id"]) if o["Id"].isdigit() else 0))

        live = recent(store.raw_all(realm_id, entity))
        gone = recent(store.deleted(realm_id, entity))
        objs = [render(o) for o in with_computed(store, realm_id, entity, live)]
        objs += [render(o) for o in gone]
        objs = objs[:budget]
        budget -= len(objs)
        groups.append({entity: objs, "startPosition": 1, "maxResults": len(objs)}
                      if objs else {})
    return {"CDCResponse": [{"QueryResponse": groups}]}
