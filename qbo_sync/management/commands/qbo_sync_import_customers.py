"""``manage.py qbo_sync_import_customers``: import a workspace's QuickBooks customers
into the app now, in the foreground, with a progress bar and a summary (the same
service the admin and the API use; README "Customer import")."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...exceptions import QBOSyncError
from ...imports.match import RULES
from ...imports.run import run_import, start_import
from ...models import Connection, ImportRun
from ..progress import ProgressBar

#: How many ambiguous or skipped customers the summary names (all are in the run).
SHOWN = 20


class Command(BaseCommand):
    help = ("Import a workspace's QuickBooks customers: link each to the contact it "
            "matches, create the rest as contacts, list the ambiguous ones.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Workspace key.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Show what would happen per customer; change nothing.")
        parser.add_argument("--match", choices=RULES,
                            help="email, name, or both (email, then display name). "
                            "Default: QBO_SYNC['IMPORT_MATCH'] (both).")

    def handle(self, *args: Any, **opts: Any) -> None:
        conn = Connection.objects.filter(workspace=opts["workspace"]).first()
        if conn is None:
            raise CommandError(f"Workspace {opts['workspace']!r} has no QuickBooks "
                               "connection. Connect it first (admin → QuickBooks → Connect).")
        try:
            run = start_import(conn, match=opts["match"], dry_run=opts["dry_run"],
                               trigger="command", queue=False)
        except QBOSyncError as exc:
            raise CommandError(exc.explained()) from None
        bar = ProgressBar()
        run = run_import(run, progress=bar)
        bar.close()
        if run.dry_run:
            for qbo_id, name, outcome, keys, note in run.results:
                self.stdout.write(_line(qbo_id, name, outcome, keys, note, dry_run=True))
        else:
            for row in [r for r in run.results if r[2] == "ambiguous"][:SHOWN]:
                self.stdout.write(_line(*row, dry_run=False))
        if run.status == ImportRun.Status.FAILED:
            raise CommandError(f"Import {run.pk} failed: {run.error}")
        verb = "would be " if run.dry_run else ""
        self.stdout.write(
            f"{'Dry run' if run.dry_run else 'Import'} {run.pk}: {run.total} QuickBooks "
            f"customers; {run.linked} {verb}linked, {run.created} {verb}created, "
            f"{run.ambiguous} ambiguous, {run.skipped} skipped; {run.calls} QuickBooks calls.")


_SAYS = {"link": "link to contact {keys}", "create": "create a contact",
         "ambiguous": "ambiguous: contacts {keys}", "skip": "skip"}


def _line(qbo_id: str, name: str, outcome: str, keys: str, note: str, *,
          dry_run: bool) -> str:
    says = _SAYS.get(outcome, outcome).format(keys=keys or "-")
    return f"  {qbo_id:>6}  {name}: {says}" + (f" ({note})" if note else "")
