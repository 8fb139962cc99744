"""django-q2 schedules the app needs, installed by name so running the installer again
updates them instead of adding copies."""

from __future__ import annotations

from django_q.models import Schedule

from .conf import app_settings

PULL_ALL = "qbo_sync.pull_all"
SWEEP = "qbo_sync.sweep"


def _specs() -> list[tuple[str, str, int]]:
    return [
        # Catch-up on changes made in QBO (CDC), every POLL_INTERVAL_MINUTES.
        (PULL_ALL, "qbo_sync.tasks.pull_all", int(app_settings.POLL_INTERVAL_MINUTES)),
        # Due and abandoned sync jobs (docs/architecture.md, invariant 1).
        (SWEEP, "qbo_sync.tasks.sweep", int(app_settings.SWEEP_INTERVAL_MINUTES)),
    ]


def install_schedules() -> list[str]:
    """Create or update the ``qbo_sync.*`` schedules; returns their names.

    Idempotent: an existing schedule keeps its id and next run, and only its function
    and interval are brought in line with the settings. Duplicates left by hand are
    removed.
    """
    names = []
    for name, func, minutes in _specs():
        if minutes < 1:
            raise ValueError(f"The interval for {name} must be at least 1 minute; check "
                             "QBO_SYNC['POLL_INTERVAL_MINUTES'] / ['SWEEP_INTERVAL_MINUTES'].")
        rows = list(Schedule.objects.filter(name=name).order_by("pk"))
        if rows:
            schedule = rows[0]
            Schedule.objects.filter(pk__in=[r.pk for r in rows[1:]]).delete()
        else:
            schedule = Schedule(name=name)
        schedule.func = func
        schedule.schedule_type = Schedule.MINUTES
        schedule.minutes = minutes
        schedule.repeats = -1
        schedule.save()
        names.append(name)
    return names
