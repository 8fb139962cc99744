"""``manage.py qbo_sync_reconcile``: compare a workspace's linked invoices with
QuickBooks now, in the foreground, with a progress bar and a summary (the same service
the schedule, the admin and the API use; docs/reconciliation.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...exceptions import QBOSyncError
from ...models import Connection, ReconciliationRun
from ...reconcile.run import run_reconciliation, start_reconciliation
from ..progress import ProgressBar, since_day


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


class Command(BaseCommand):
    help = ("Compare a workspace's invoices, payments, credit memos, refunds and customers "
            "with QuickBooks and report every difference.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="Workspace key.")
        parser.add_argument("--since", type=since_day,
                            help="Only invoices issued on or after YYYY-MM-DD.")
        parser.add_argument("--fix", choices=["safe"],
                            help="Also queue the repairs that are safe unattended.")

    def handle(self, *args: Any, **opts: Any) -> None:
        conn = Connection.objects.filter(workspace=opts["workspace"]).first()
        if conn is None:
            raise CommandError(f"Workspace {opts['workspace']!r} has no QuickBooks "
                               "connection. Connect it first (admin → QuickBooks → Connect).")
        try:
            run = start_reconciliation(conn, trigger="command", since=opts["since"],
                                       fix=opts["fix"] or "", queue=False)
        except QBOSyncError as exc:
            raise CommandError(exc.explained()) from None
        bar = ProgressBar()
        run = run_reconciliation(run, progress=bar)
        bar.close()
        if run.status == ReconciliationRun.Status.FAILED:
            raise CommandError(f"Reconciliation {run.pk} failed: {run.error}")
        found = ", ".join(f"{kind} {n}" for kind, n in sorted(run.counts.items()))
        self.stdout.write(
            f"Run {run.pk}: {_plural(run.total, 'record')} compared, "
            f"{run.found} difference{'' if run.found == 1 else 's'}"
            + (f": {found}" if found else "") + ".")
        self.stdout.write(f"{run.calls} QuickBooks calls ({run.calls_per_thousand or 0} per "
                          f"1,000 records); {run.in_flight} left out with a sync on its "
                          f"way, {run.ignored} ignored as before.")
        if run.fix == "safe":
            self.stdout.write(f"{run.repaired} safe repair{'' if run.repaired == 1 else 's'} "
                              "queued; the rest wait in admin → QuickBooks → Reconciliation.")
