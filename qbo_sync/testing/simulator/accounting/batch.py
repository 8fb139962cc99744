"""POST /batch: up to 30 items, each a create/update/delete/void or a Query, answered
item by item with the entity, a QueryResponse or a per-item Fault (docs/qbo-rules.md §3, §10)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..entities import ENTITY_NAMES, ApiError, business, required
from .ops import write
from .query import run as run_query

if TYPE_CHECKING:
    from ..store import Store

MAX_ITEMS = 30  # docs/qbo-rules.md §3 "Items per batch request"


def run_batch(store: Store, realm_id: str, body: Any) -> dict:
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise required("BatchItemRequest")
    if len(items) > MAX_ITEMS:
        raise business(f"A batch request holds at most {MAX_ITEMS} items; this one has "
                       f"{len(items)}. Split it into several batch requests.",
                       "BatchItemRequest")
    return {"BatchItemResponse": [_one(store, realm_id, item) for item in items]}


def _one(store: Store, realm_id: str, item: Any) -> dict:
    bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
    try:
        if not isinstance(item, dict):
            raise required("BatchItemRequest item")
        if "Query" in item:
            return {"bId": bid, "QueryResponse": run_query(store, realm_id, item["Query"])}
        entities = [k for k in item if k in ENTITY_NAMES.values()]
        if len(entities) != 1:
            raise required("the entity object (e.g. Invoice) of the batch item")
        entity = entities[0]
        op = (item.get("operation") or "create").lower()
        params = {"operation": op}
        if op == "update" and "void" in str(item.get("optionsData", "")).lower():
            params["include"] = "void"
        return {"bId": bid, **write(store, realm_id, entity, item[entity], params)}
    except ApiError as exc:
        return {"bId": bid, "Fault": exc.fault_body()}
