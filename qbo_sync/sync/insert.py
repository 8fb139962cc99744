"""The outbox's one-statement write: ``INSERT … SELECT … WHERE NOT EXISTS (a waiting
job) [AND EXISTS (the connection as remembered)]``, so the usual save costs one SQL
statement (``outbox.enqueue``).

The statement's text is built once per process and database from the same querysets
the rest of the outbox uses (:func:`waiting_jobs`, :func:`unchanged`), compiled with
stand-in values that each call replaces: a save pays for its values, not for the ORM
compiling the same SQL again. It names only the columns the job sets: the ones a new
job leaves empty take their database default (``db_default``, or NULL), so the host's
save binds, sends and plans fewer values.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import connections, router
from django.db.models import NOT_PROVIDED, Field, QuerySet

from ..models import Connection, JobAction, SyncJob

#: The connection fields a save's decision and its job row rely on.
SNAPSHOT_FIELDS = [f.attname for f in Connection._meta.concrete_fields
                   if f.attname in ("id", "workspace", "status", "connected_at")]

# Stand-ins compiled into the statement's text, replaced by each call's values. No real
# value is ever equal to one of them.
_CT, _OBJECT, _KIND = -918_273_645, "\x00object", "\x00kind"
_STAND_INS = {"id": -918_273_646, "workspace": "\x00workspace", "status": "\x00status",
              "connected_at": datetime(1901, 1, 1, tzinfo=UTC)}

_compiled: dict[tuple[str, bool, bool, tuple[str, ...]],
                tuple[str, list[Any], list[Field]]] = {}


def _database_default(field: Field) -> Any:
    """What the column holds when an INSERT leaves it out (NOT_PROVIDED: no default)."""
    if field.db_default is not NOT_PROVIDED:
        return field.db_default
    return None if field.null else NOT_PROVIDED


#: The fields whose column has a default of its own, with it.
_OPTIONAL = [(f, _database_default(f)) for f in SyncJob._meta.concrete_fields
             if not f.primary_key and _database_default(f) is not NOT_PROVIDED]


def waiting_jobs(content_type_id: int, object_id: str, kind: str, action: str) -> QuerySet:
    """The job a new push of this record would join: one not started yet. A settle
    pushes a payment of its own, so it joins only another settle."""
    waiting = SyncJob.objects.filter(
        content_type_id=content_type_id, object_id=object_id, entity=kind,
        direction=SyncJob.Direction.PUSH,
        status__in=[SyncJob.Status.PENDING, SyncJob.Status.PARKED],
    )
    if action == JobAction.SETTLE:
        return waiting.filter(action=JobAction.SETTLE)
    return waiting.exclude(action=JobAction.SETTLE)


def unchanged(values: dict[str, Any]) -> QuerySet:
    """The connection row, if it still holds ``values`` (of :data:`SNAPSHOT_FIELDS`)."""
    return Connection.objects.filter(**values)


def insert_unless_waiting(job: SyncJob, *, remembered: Connection | None = None) -> bool:
    """Write ``job`` unless a job of its record is waiting, or, given ``remembered``,
    unless the connection row no longer holds what it says; in one statement. True when
    written (``job.pk`` is then set)."""
    alias = router.db_for_write(SyncJob)
    db = connections[alias]
    settle = job.action == JobAction.SETTLE
    left = tuple(f.attname for f, default in _OPTIONAL
                 if getattr(job, f.attname) == default)
    sql, tail, fields = _statement(alias, settle, remembered is not None, left)
    given = {_CT: job.content_type_id, _OBJECT: job.object_id, _KIND: job.entity}
    if remembered is not None:
        given.update({_lookup_value(name, _STAND_INS[name], db):
                      _lookup_value(name, getattr(remembered, name), db)
                      for name in SNAPSHOT_FIELDS})
    params = [f.get_db_prep_save(f.pre_save(job, True), db) for f in fields]
    params += [given.get(value, value) for value in tail]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    job.pk = row[0]
    job._state.adding, job._state.db = False, alias
    return True


def _lookup_value(name: str, value: Any, db: Any) -> Any:
    """``value`` of the connection field ``name`` as a compiled lookup passes it (a
    datetime is a string on SQLite)."""
    field = Connection._meta.get_field(name)
    return field.get_db_prep_value(field.get_prep_value(value), db, prepared=True)


def _statement(alias: str, settle: bool, guarded: bool,
               left: tuple[str, ...]) -> tuple[str, list[Any], list[Field]]:
    """The statement's text, the parameters of its conditions (stand-ins included) and
    the fields it names (all but the key and those ``left`` to the database), built the
    first time."""
    key = (alias, settle, guarded, left)
    if key not in _compiled:
        db = connections[alias]
        quote = db.ops.quote_name
        fields = [f for f in SyncJob._meta.concrete_fields
                  if not f.primary_key and f.attname not in left]
        # PostgreSQL types a bare parameter in a SELECT list as text; SQLite needs no
        # cast (and a CAST there would change the value's affinity).
        cells = [f"CAST(%s AS {f.db_type(db)})" if db.vendor == "postgresql" else "%s"
                 for f in fields]
        waiting = waiting_jobs(_CT, _OBJECT, _KIND,
                               JobAction.SETTLE if settle else JobAction.SYNC)
        exists, tail = waiting.values("pk").query.get_compiler(using=alias).as_sql()
        where, tail = f"NOT EXISTS ({exists})", list(tail)
        if guarded:
            present = unchanged(_STAND_INS).values("pk")
            found, found_params = present.query.get_compiler(using=alias).as_sql()
            where, tail = f"{where} AND EXISTS ({found})", [*tail, *found_params]
        sql = (f"INSERT INTO {quote(SyncJob._meta.db_table)} "
               f"({', '.join(quote(f.column) for f in fields)}) "
               f"SELECT {', '.join(cells)} WHERE {where} "
               f"RETURNING {quote(SyncJob._meta.pk.column)}")
        _compiled[key] = (sql, tail, fields)
    return _compiled[key]
