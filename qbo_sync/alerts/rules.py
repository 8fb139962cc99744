"""The alert rules: each reads the database for one workspace and says what is wrong
now. They only read and decide; :mod:`.service` remembers what was sent.

Each rule returns the :class:`Finding` list (empty: all is well), or an
:class:`Unknown` when it cannot tell (then any alert it raised before stays as it was).
The figures come from small queries over the sync tables, one function per figure
(``failure_counts``, ``read_count``…), so a metrics service can stand in for them later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q

from ..conf import app_settings
from ..exceptions import ReconnectRequired
from ..metrics.compute import month_start
from ..models import (
    SUCCESS_STATUSES,
    Connection,
    Difference,
    DifferenceKind,
    ReconciliationRun,
    SyncJob,
)
from .config import load

#: QuickBooks ends a refresh-token chain 5 years after it began (docs/qbo-rules.md §1.5).
CHAIN_YEARS = 5
#: How many failed jobs a message names; the rest are counted.
LISTED = 5
_FINISHED = (SyncJob.Status.SUCCEEDED, SyncJob.Status.DIFFERS, SyncJob.Status.FAILED)
_SYNC_HEALTH = "Sync Health (admin → QuickBooks → Sync jobs)"
_RECONNECT = ReconnectRequired.default_fix


@dataclass(frozen=True)
class Finding:
    """One thing wrong now. ``subject`` tells apart two alerts of one rule."""

    rule: str
    title: str
    detail: str
    subject: str = ""


@dataclass(frozen=True)
class Unknown:
    """The rule could not be evaluated, and why."""

    reason: str


@dataclass(frozen=True)
class Context:
    workspace: str
    connection: Connection | None
    now: datetime
    config: dict[str, Any]


Result = list[Finding] | Unknown


# Figures ------------------------------------------------------------------------------


def failure_counts(workspace: str, since: datetime) -> tuple[int, int]:
    """(jobs finished since ``since``, of which failed), succeeded-but-differs counting
    as finished, not failed."""
    row = SyncJob.objects.filter(workspace=workspace, finished_at__gte=since,
                                 status__in=_FINISHED).aggregate(
        total=Count("pk"), failed=Count("pk", filter=Q(status=SyncJob.Status.FAILED)))
    return row["total"], row["failed"]


def unresolved_failures(workspace: str, before: datetime):
    """Failed jobs that finished before ``before`` and that no later successful job for
    the same object has made good, oldest first."""
    made_good = SyncJob.objects.filter(
        content_type=OuterRef("content_type"), object_id=OuterRef("object_id"),
        entity=OuterRef("entity"), created_at__gt=OuterRef("created_at"),
        status__in=SUCCESS_STATUSES)
    return (SyncJob.objects.filter(workspace=workspace, status=SyncJob.Status.FAILED)
            .filter(Q(finished_at__lte=before)
                    | Q(finished_at__isnull=True, updated_at__lte=before))
            .exclude(Exists(made_good)).order_by("finished_at", "pk"))


def chain_end(connection: Connection) -> datetime | None:
    """When the connection's refresh-token chain ends: Intuit's own figure when it sent
    one, else 5 years after the chain began; None when neither is known."""
    if connection.refresh_token_hard_expires_at:
        return connection.refresh_token_hard_expires_at
    start = connection.refresh_chain_started_at
    if start is None:
        return None
    try:
        return start.replace(year=start.year + CHAIN_YEARS)
    except ValueError:  # 29 February: the day before is the safe side
        return start.replace(year=start.year + CHAIN_YEARS, day=28)


def read_count(workspace: str, since: datetime, config: dict[str, Any]) -> int | None:
    """Metered reads since ``since`` from the ``READ_COUNT`` source; None without one."""
    source = config.get("READ_COUNT")
    if source is None:
        return None
    return int(load(source, "READ_COUNT")(workspace, since))


def open_differences(connection: Connection) -> tuple[ReconciliationRun | None, Counter]:
    """The latest finished reconciliation and its open differences by kind."""
    run = (ReconciliationRun.objects.filter(connection=connection,
                                            status=ReconciliationRun.Status.DONE)
           .order_by("-finished_at", "-pk").first())
    if run is None:
        return None, Counter()
    kinds = (Difference.objects.filter(run=run, state=Difference.State.OPEN)
             .values_list("kind", flat=True))
    return run, Counter(kinds)


# Rules --------------------------------------------------------------------------------


def failure_rate(ctx: Context) -> Result:
    minutes = ctx.config["FAILURE_RATE_WINDOW_MINUTES"]
    total, failed = failure_counts(ctx.workspace, ctx.now - timedelta(minutes=minutes))
    limit = ctx.config["FAILURE_RATE_PERCENT"]
    # A handful of jobs proves nothing: 1 failure out of 1 is not a trend.
    if total < ctx.config["FAILURE_RATE_MIN_JOBS"] or failed * 100 <= limit * total:
        return []
    percent = round(failed * 100 / total)
    return [Finding("failure_rate", f"{percent} % of syncs failed in the last {minutes} min",
                    f"{failed} of {total} sync jobs that finished in the last {minutes} minutes "
                    f"failed (the alert threshold is {limit} %). Open {_SYNC_HEALTH}, "
                    "filtered by Failed: each error says what to fix.")]


def failed_unresolved(ctx: Context) -> Result:
    minutes = ctx.config["FAILED_UNRESOLVED_MINUTES"]
    jobs = unresolved_failures(ctx.workspace, ctx.now - timedelta(minutes=minutes))
    count = jobs.count()
    if not count:
        return []
    named = "\n".join(f"- job #{job.pk}: {job.entity} {job.get_action_display().lower()}: "
                      f"{(job.error_message or 'no message')[:200]}"
                      for job in jobs[:LISTED])
    more = f"\n…and {count - LISTED} more." if count > LISTED else ""
    return [Finding("failed_unresolved",
                    f"{count} failed sync job{'s' if count != 1 else ''} unresolved for over "
                    f"{minutes} min",
                    f"These jobs failed more than {minutes} minutes ago and nothing has "
                    f"synced their record since:\n{named}{more}\nFix what each error names, "
                    f"then retry them in {_SYNC_HEALTH}.")]


def reconnect(ctx: Context) -> Result:
    conn = ctx.connection
    if conn is None or conn.status != Connection.Status.ERROR:
        return []
    return [Finding("reconnect", "QuickBooks needs to be reconnected",
                    f"{conn.status_reason or 'QuickBooks refused the stored tokens.'} Syncs "
                    f"wait until someone reconnects. {_RECONNECT}", subject=conn.realm_id)]


def token_chain(ctx: Context) -> Result:
    conn = ctx.connection
    if conn is None or conn.status != Connection.Status.CONNECTED:
        return []
    end = chain_end(conn)
    if end is None:
        return Unknown("neither QuickBooks' hard expiry nor the chain's start is stored; "
                       "reconnecting once records it")
    days = ctx.config["TOKEN_CHAIN_DAYS"]
    if end - ctx.now > timedelta(days=days):
        return []
    left = max((end - ctx.now).days, 0)
    return [Finding("token_chain",
                    f"QuickBooks connection ends in {left} day{'s' if left != 1 else ''}",
                    f"The QuickBooks authorization ends on {end:%Y-%m-%d %H:%M} UTC: "
                    "QuickBooks caps every connection at 5 years, however often it is used. "
                    f"Reconnect before then so syncing does not stop. {_RECONNECT}",
                    subject=conn.realm_id)]


def read_budget(ctx: Context) -> Result:
    month = month_start(ctx.now)
    used = read_count(ctx.workspace, month, ctx.config)
    if used is None:
        return Unknown("no source of metered-read counts is set (QBO_SYNC['ALERTS']"
                       "['READ_COUNT'])")
    budget = ctx.config["READ_BUDGET"] or int(app_settings.METERED_READS_PER_MONTH)
    percent = ctx.config["READ_BUDGET_PERCENT"]
    if used * 100 < percent * budget:
        return []
    return [Finding("read_budget",
                    f"{round(used * 100 / budget)} % of this month's QuickBooks reads used",
                    f"{used:,} of the {budget:,} metered reads budgeted for {month:%B %Y} "
                    f"are used (the alert is at {percent} %). Reads beyond Intuit's tier "
                    "are billed or refused: lower how often pulls and reconciliations run "
                    "(POLL_INTERVAL_MINUTES, RECONCILE_INTERVAL_HOURS) or raise the budget.")]


def reconciliation(ctx: Context) -> Result:
    if ctx.connection is None:
        return []
    run, kinds = open_differences(ctx.connection)
    if not kinds:
        return []
    total = sum(kinds.values())
    listed = "\n".join(f"- {DifferenceKind(kind).label}: {n}"
                       for kind, n in sorted(kinds.items()))
    return [Finding("reconciliation",
                    f"{total} open reconciliation difference{'s' if total != 1 else ''}",
                    f"Reconciliation {run.pk} ({run.finished_at:%Y-%m-%d %H:%M} UTC) found "
                    f"differences between the app and QuickBooks still open:\n{listed}\n"
                    "Repair or ignore each one (with a reason) in admin → QuickBooks → "
                    "Reconciliation.")]


RULES: dict[str, Callable[[Context], Result]] = {
    "failure_rate": failure_rate,
    "failed_unresolved": failed_unresolved,
    "reconnect": reconnect,
    "token_chain": token_chain,
    "read_budget": read_budget,
    "reconciliation": reconciliation,
}
