"""``manage.py seed_demo``: demo workspaces, users, contacts, invoices and tasks."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from example_project.billing.demo import DemoBuilder
from qbo_sync.receivers import muted


class Command(BaseCommand):
    help = (
        "Create deterministic demo data: workspaces 'default' (US, USD) and 'uk' (GB, GBP), "
        "users admin/admin, manager/manager, member/member, contacts, invoices, payments, "
        "credit memos, refunds and tasks. Nothing is sent to QuickBooks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=300, help="Default: 300.")
        parser.add_argument("--invoices", type=int, default=500, help="Default: 500.")
        parser.add_argument("--seed", type=int, default=2024, help="Random seed. Default: 2024.")
        parser.add_argument(
            "--reset", action="store_true",
            help="Delete the demo workspaces and everything in them first.",
        )

    def handle(self, *args, **options) -> None:
        try:
            builder = DemoBuilder(options["contacts"], options["invoices"], seed=options["seed"])
        except ValueError as err:
            raise CommandError(str(err)) from err
        # Demo data is the app's past: nothing here is queued for QuickBooks (that is
        # what the historical sync is for).
        with muted():
            if options["reset"]:
                DemoBuilder.reset()
            elif DemoBuilder.already_seeded():
                self.stdout.write(
                    "Demo data already exists; nothing changed. Run with --reset to rebuild it."
                )
                return
            started = time.monotonic()
            summary = builder.build()
        self._report(summary, time.monotonic() - started)

    def _report(self, summary: dict, seconds: float) -> None:
        out = self.stdout
        out.write(self.style.SUCCESS(f"Demo data ready in {seconds:.1f}s."))
        for slug, ws in summary["workspaces"].items():
            out.write(f"  workspace {slug}: {ws['contacts']} contacts, {ws['invoices']} invoices "
                      f"({', '.join(ws['currencies']) or 'none'})")
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(summary["invoice_status"].items()))
        out.write(f"  invoices by status: {statuses or 'none'}")
        out.write(f"  {summary['lines']} invoice lines, {summary['payments']} payments, "
                  f"{summary['credit_memos']} credit memos, {summary['refunds']} refunds")
        tasks = ", ".join(f"{k} {v}" for k, v in sorted(summary["tasks"].items()))
        out.write(f"  tasks: {tasks}")
        out.write("  log in as admin/admin (superuser), manager/manager or member/member")
