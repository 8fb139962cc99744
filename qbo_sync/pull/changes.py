"""What changed in QBO since the cursor: CDC, or paged queries when CDC can't answer
(docs/qbo-rules.md §6, §8).

Reads are metered (docs/qbo-rules.md §3), so a normal cycle is one CDC call for Payment and
Invoice together, whatever the number of open invoices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..conf import app_settings
from ..exceptions import QBOValidationError
from ..qbo.client import QBOClient
from ..qbo.records import last_updated
from ..qbo.wire import quote

logger = logging.getLogger("qbo_sync.pull")

#: Entities the pull reads. Payments first: recording a payment can settle an invoice.
ENTITIES = ("Payment", "Invoice")


def entities() -> tuple[str, ...]:
    """What this cycle reads: also Customer when customer edits are pulled."""
    return (*ENTITIES, "Customer") if app_settings.PULL_CUSTOMER_CHANGES else ENTITIES
#: Every window starts this much before the cursor, for clock skew and late commits
#: (docs/qbo-rules.md §6: "always overlap the window by a few minutes").
OVERLAP = timedelta(minutes=5)
#: CDC answers for at most 30 days back (docs/qbo-rules.md §6); keep a margin from the edge.
CDC_WINDOW = timedelta(days=30)
CDC_MARGIN = timedelta(hours=1)
#: At most 1000 objects per CDC answer, all entities together (docs/qbo-rules.md §6).
CDC_CAP = 1000


@dataclass
class Changes:
    """Changed objects per entity (deleted ones carry ``"status": "Deleted"``)."""

    since: datetime
    mode: str  # "cdc" | "query"
    objects: dict[str, list[dict]] = field(default_factory=dict)
    capped: bool = False  # the 1000-object cap was hit and we paged

    def of(self, entity: str) -> list[dict]:
        return self.objects.get(entity, [])

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.objects.values())


def window_start(cursor: datetime | None, connected_at: datetime | None,
                 now: datetime) -> datetime:
    """Where this cycle reads from: the cursor minus the overlap; on the first pull, the
    moment the company was connected (nothing was linked before that)."""
    start = cursor or connected_at or (now - CDC_WINDOW + CDC_MARGIN)
    return start - OVERLAP


def fetch_changes(client: QBOClient, since: datetime, now: datetime,
                  renew: Callable[[], object] = lambda: None) -> Changes:
    """Changed Payments and Invoices since ``since``; ``renew`` is called before each
    further call (it keeps the pull lock's lease, :mod:`.lock`)."""
    if now - since > CDC_WINDOW - CDC_MARGIN:
        # CDC refuses a changedSince older than 30 days (§6): page queries instead.
        return _by_query(client, since, renew)
    try:
        return _by_cdc(client, since, renew)
    except QBOValidationError as err:
        # The server's clock or rules disagree with ours about the window.
        logger.warning("CDC refused changedSince=%s (%s); falling back to queries", since, err)
        return _by_query(client, since, renew)


def _by_cdc(client: QBOClient, since: datetime, renew: Callable[[], object]) -> Changes:
    names = entities()
    answer = client.cdc(list(names), since)
    changes = Changes(since=since, mode="cdc",
                      objects={e: list(answer.get(e, [])) for e in names})
    if changes.total < CDC_CAP:
        return changes
    # Capped: the answer may have been cut anywhere. Narrow to one entity per call and
    # page forward by LastUpdatedTime (§6: there is no STARTPOSITION for CDC).
    changes.capped = True
    for entity in names:
        changes.objects[entity] = _cdc_pages(client, entity, since, renew)
    return changes


def _cdc_pages(client: QBOClient, entity: str, since: datetime,
               renew: Callable[[], object]) -> list[dict]:
    found: dict[str, dict] = {}  # by Id; a later version replaces an earlier one
    start = since
    while True:
        renew()
        page = client.cdc([entity], start).get(entity, [])
        for obj in page:
            found[str(obj.get("Id"))] = obj
        if len(page) < CDC_CAP:
            break
        newest = max((t for t in map(last_updated, page) if t), default=None)
        if newest is None or newest <= start:
            # A thousand changes in the same instant: CDC can't page past them.
            for obj in _query_entity(client, entity, start):
                found[str(obj.get("Id"))] = obj
            break
        start = newest
    return list(found.values())


def _by_query(client: QBOClient, since: datetime, renew: Callable[[], object]) -> Changes:
    # Deletions are invisible to queries (§6): a realm not pulled for 30 days can miss an
    # invoice deleted in QBO meanwhile. Webhooks still report Delete operations.
    objects = {}
    for entity in entities():
        renew()
        objects[entity] = _query_entity(client, entity, since)
    return Changes(since=since, mode="query", objects=objects)


def _query_entity(client: QBOClient, entity: str, since: datetime) -> list[dict]:
    # Paged 1000 at a time, ordered by LastUpdatedTime so pages are stable (§8).
    where = f"MetaData.LastUpdatedTime >= {quote(since.isoformat())}"
    return client.query_all(entity, where, order_by="MetaData.LastUpdatedTime")
