"""``manage.py qbo_sync_pull``: catch up on QuickBooks changes now, in this process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import Connection
from ...pull.cycle import connections, pull_connection


class Command(BaseCommand):
    help = ("Pull payments and invoice changes from QuickBooks now (CDC catch-up), for "
            "every connected workspace or the one given.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Only this workspace (default: all connected).")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = options.get("workspace")
        if workspace:
            conns = list(Connection.objects.filter(workspace=workspace))
            if not conns:
                raise CommandError(f"No QuickBooks connection for workspace {workspace!r}; "
                                   "connect it first (Settings → QuickBooks → Connect).")
        else:
            conns = connections()
            if not conns:
                self.stdout.write("No connected workspaces.")
                return
        failed = 0
        for conn in conns:
            summary = pull_connection(conn.pk, source="command", wait=30)
            self.stdout.write(self._line(conn.workspace, summary))
            failed += bool(summary.get("error") or summary.get("failed"))
        if failed:
            raise CommandError(f"{failed} workspace(s) had errors; see Sync Health.")

    @staticmethod
    def _line(workspace: str, s: dict[str, Any]) -> str:
        if s.get("skipped"):
            return f"{workspace}: skipped ({s['skipped']})"
        if s.get("error"):
            fix = f" Fix: {s['fix']}" if s.get("fix") else ""
            return f"{workspace}: failed: {s['error']}.{fix}"
        changed = ", ".join(f"{n} {e}" for e, n in s.get("changed", {}).items())
        return (f"{workspace}: {s['mode']} since {s['since']}: {changed or 'nothing'} changed; "
                f"{s['jobs']} action(s): {s['succeeded']} done, {s['skipped_jobs']} skipped, "
                f"{s['failed']} failed")
