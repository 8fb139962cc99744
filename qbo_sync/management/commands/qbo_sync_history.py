"""``manage.py qbo_sync_history``: queue pushes of existing contacts or invoices now, in
the foreground, with a progress bar (the same service the API's sync endpoints use)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import Connection, HistoricalRun
from ...sync.history import normalize_kind, run_history
from ..progress import ProgressBar, since_day


class Command(BaseCommand):
    help = "Queue a push of a workspace's existing contacts or invoices to QuickBooks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Workspace key.")
        parser.add_argument("--kind", required=True, choices=["contacts", "invoices"])
        parser.add_argument("--since", type=since_day, help="Invoices issued on or after "
                            "YYYY-MM-DD (contacts ignore it).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Only count what would be queued.")

    def handle(self, *args: Any, **opts: Any) -> None:
        conn = Connection.objects.filter(workspace=opts["workspace"]).first()
        if conn is None:
            raise CommandError(f"Workspace {opts['workspace']!r} has no QuickBooks "
                               "connection. Connect it first (admin → QuickBooks → Connect).")
        run = HistoricalRun.objects.create(connection=conn, kind=normalize_kind(opts["kind"]),
                                           since=opts["since"], dry_run=opts["dry_run"])
        bar = ProgressBar()
        run = run_history(run, progress=bar)
        bar.close()
        verb = "would be queued" if run.dry_run else "queued"
        self.stdout.write(f"Run {run.pk}: {run.status}. {run.total} {run.kind}s looked at, "
                          f"{run.queued} {verb}, {run.skipped} skipped (drafts or already "
                          "in QuickBooks).")
        if run.status == HistoricalRun.Status.FAILED:
            raise CommandError(run.error)
