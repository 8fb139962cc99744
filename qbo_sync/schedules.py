"""django-q2 schedules the app needs, installed by name so running the installer again
updates them instead of adding copies."""

from __future__ import annotations

from django_q.models import Schedule

from .alerts.config import alert_settings
from .conf import app_settings

PULL_ALL = "qbo_sync.pull_all"
SWEEP = "qbo_sync.sweep"
PRUNE = "qbo_sync.prune"
RECONCILE = "qbo_sync.reconcile_all"
ALERTS = "qbo_sync.alerts"
ALERT_DIGEST = "qbo_sync.alert_digest"
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


def _alert_specs() -> list[tuple[str, str, str, int | None]]:
    """The alert evaluation (and the daily digest when on); those turned off are removed."""
    config = alert_settings()
    specs = []
    if config["ENABLED"]:
        specs.append((ALERTS, "qbo_sync.tasks.evaluate_alerts", Schedule.MINUTES,
                      int(config["INTERVAL_MINUTES"])))
    if config["ENABLED"] and config["DIGEST"]:
        specs.append((ALERT_DIGEST, "qbo_sync.tasks.send_alert_digests", Schedule.DAILY, None))
    Schedule.objects.filter(name__in={ALERTS, ALERT_DIGEST} - {s[0] for s in specs}).delete()
    return specs


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
    specs += _alert_specs()
    for name, func, kind, minutes in specs:
        if kind == Schedule.MINUTES and (minutes or 0) < 1:
            raise ValueError(f"The interval for {name} must be at least 1 minute; check "
                             "QBO_SYNC['POLL_INTERVAL_MINUTES'] / ['SWEEP_INTERVAL_MINUTES'] / "
                             "['RECONCILE_INTERVAL_HOURS'] / ['ALERTS']['INTERVAL_MINUTES'].")
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
