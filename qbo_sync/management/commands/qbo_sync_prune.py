"""``manage.py qbo_sync_prune [--dry-run]``: remove what is older than its retention now,
in batches, printing progress and what was removed (the daily schedule does the same)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...exceptions import ConfigurationError
from ...sync.retention import BATCH, prune, retention_days


class Command(BaseCommand):
    help = ("Remove old webhook deliveries, webhook event keys and job attempts, and empty "
            "the payloads of old finished jobs, as QBO_SYNC['RETENTION_DAYS'] says.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true",
                            help="Only count what would be removed.")
        parser.add_argument("--batch-size", type=int, default=BATCH,
                            help=f"Rows per statement (default {BATCH}).")

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run, batch = options["dry_run"], options["batch_size"]
        if batch < 1:
            raise CommandError("--batch-size must be 1 or more.")
        try:
            days = retention_days()
        except ConfigurationError as err:
            raise CommandError(f"{err} {err.fix}") from None
        kept = ", ".join(f"{kind} {n} days" for kind, n in days.items())
        self.stdout.write(f"Retention: {kept}{' (dry run: nothing is changed)' if dry_run else ''}")

        def progress(label: str, done: int) -> None:
            self.stdout.write(f"  {label}: {done}…")

        summary = prune(dry_run=dry_run, batch=batch, progress=None if dry_run else progress)
        verb = "would remove" if dry_run else "removed"
        for label, count in summary.items():
            what = "emptied" if label.startswith("payloads") else verb
            if dry_run and label.startswith("payloads"):
                what = "would empty"
            self.stdout.write(f"{label}: {what} {count}")
        total = sum(summary.values())
        self.stdout.write(f"Done: {total} row(s) {'due' if dry_run else 'pruned'}.")
