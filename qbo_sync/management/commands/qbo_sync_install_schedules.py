"""``manage.py qbo_sync_install_schedules``: create or update the django-q2 schedules."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_q.models import Schedule

from ...schedules import install_schedules


class Command(BaseCommand):
    help = ("Create or update the qbo_sync django-q2 schedules (pull catch-up, sweeper, "
            "the daily prune, reconciliation and alerts).")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in install_schedules():
            schedule = Schedule.objects.get(name=name)
            every = (f"every {schedule.minutes} min" if schedule.schedule_type == Schedule.MINUTES
                     else schedule.get_schedule_type_display().lower())
            self.stdout.write(
                f"{name}: {schedule.func} {every} "
                f"(next run {schedule.next_run:%Y-%m-%d %H:%M:%S} UTC)"
            )
