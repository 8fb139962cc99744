"""django-q2 schedules the app needs, installed by name so running the installer again
updates them instead of adding copies."""

from __future__ import annotations

from django_q.models import Schedule

from .conf import app_settings

PULL_ALL = "qbo_sync.pull_all"
SWEEP = "qbo_sync.sweep"
PRUNE = "qbo_sync.prune"
RECONCILE = "qbo_sync.reconcile_all"
OVERDUE = "qbo_sync.check_overdue"


def _specs() -> list[tuple[str, str, str, int | None]]:
    """(name, task, django-q2 schedule type, minutes for MINUTES schedules)."""
    return [
        # Catch-up on changes made in QBO (CDC), every POLL_INTERVAL_MINUTES.
        (PULL_ALL, "qbo_sync.tasks.pull_all", Schedule.MINUTES,
         int(app_settings.POLL_INTERVAL_MINUTES)),
        # Due and abandoned sync jobs (docs/architecture.md, invariant 1).
        (SWEEP, "qbo_sync.tasks.sweep", Schedule.MINUTES,
         int(app_settings.SWEEP_INTERVAL_MINUTES)),
        # Old deliveries, keys, payloads and attempts (QBO_SYNC["RETENTION_DAYS"]).
        (PRUNE, "qbo_sync.tasks.prune", Schedule.DAILY, None),
        # Invoices overdue by the calendar alone, with no change for CDC to see.
        (OVERDUE, "qbo_sync.tasks.check_overdue", Schedule.DAILY, None),
    ]


def _reconcile_minutes() -> int:
    return int(float(app_settings.RECONCILE_INTERVAL_HOURS or 0) * 60)


def install_schedules() -> list[str]:
    """Create or update the ``qbo_sync.*`` schedules; returns their names.

    Idempotent: an existing schedule keeps its id and next run, and only its function,
    type and interval are brought in line with the settings. Duplicates left by hand
    are removed.
    """
    names = []
    specs = _specs()
    if _reconcile_minutes() > 0:
        # Every linked invoice against QuickBooks (docs/reconciliation.md).
        specs.append((RECONCILE, "qbo_sync.tasks.reconcile_all", Schedule.MINUTES,
                      _reconcile_minutes()))
    else:
        Schedule.objects.filter(name=RECONCILE).delete()
    for name, func, kind, minutes in specs:
        if kind == Schedule.MINUTES and (minutes or 0) < 1:
            raise ValueError(f"The interval for {name} must be at least 1 minute; check "
                             "QBO_SYNC['POLL_INTERVAL_MINUTES'] / ['SWEEP_INTERVAL_MINUTES'] / "
                             "['RECONCILE_INTERVAL_HOURS'].")
        rows = list(Schedule.objects.filter(name=name).order_by("pk"))
        if rows:
            schedule = rows[0]
            Schedule.objects.filter(pk__in=[r.pk for r in rows[1:]]).delete()
        else:
            schedule = Schedule(name=name)
        schedule.func = func
        schedule.schedule_type = kind
        schedule.minutes = minutes
        schedule.repeats = -1
        schedule.save()
        names.append(name)
    return names
