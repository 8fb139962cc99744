"""``manage.py qbo_sync_status``: each workspace's connection, tokens and sync health."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...connection.settings import status_summary
from ...metrics.compute import workspace_metrics
from ...metrics.windows import DEFAULT_WINDOW, WINDOWS
from ...models import Connection
from ..metrics_text import metrics_lines


def _days(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    if abs(seconds) < 86400:
        return f"{seconds // 3600}h" if seconds >= 0 else "expired"
    return f"{seconds // 86400}d" if seconds >= 0 else "expired"


def _overdue(overdue: dict[str, Any]) -> str:
    """"2 (USD 100.30)": overdue invoices and their open amount, per currency."""
    if not overdue["count"]:
        return "0"
    amounts = "; ".join(f"{code or 'home'} {entry['amount']}"
                        for code, entry in overdue["by_currency"].items())
    return f"{overdue['count']} ({amounts})"


class Command(BaseCommand):
    help = "Show the QuickBooks connection status of one or all workspaces."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Only this workspace.")
        parser.add_argument("--metrics", action="store_true",
                            help="Show each workspace's sync metrics instead (README, "
                            "\"Metrics\").")
        parser.add_argument("--window", choices=list(WINDOWS), default=DEFAULT_WINDOW,
                            help=f"The span --metrics covers, ending now (default "
                            f"{DEFAULT_WINDOW}).")
        parser.add_argument("--json", action="store_true",
                            help="With --metrics: print them as JSON.")

    def handle(self, *args: Any, **opts: Any) -> None:
        connections = Connection.objects.order_by("workspace")
        if opts["workspace"]:
            connections = connections.filter(workspace=opts["workspace"])
            if not connections.exists():
                raise CommandError(f"Workspace {opts['workspace']!r} has no QuickBooks "
                                   "connection.")
        if opts["metrics"]:
            self._metrics([c.workspace for c in connections], opts["window"], opts["json"])
            return
        header = ("workspace", "status", "company", "realm", "env", "access", "refresh",
                  "5y cap", "pending", "failed", "parked", "overdue", "missing settings")
        rows = [header]
        for conn in connections:
            info = status_summary(conn)
            tokens, jobs = info["tokens"], info["jobs"]
            rows.append((
                info["workspace"], info["status"], info["company"], info["realm_id"],
                info["environment"], _days(tokens["access_expires_in_seconds"]),
                _days(tokens["refresh_expires_in_seconds"]),
                _days(tokens["hard_expires_in_seconds"]), str(jobs["pending"]),
                str(jobs["failed"]), str(jobs["parked"]), _overdue(info["overdue"]),
                ", ".join(info["missing_required"]) or "-",
            ))
        if len(rows) == 1:
            self.stdout.write("No QuickBooks connections yet.")
            return
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
        for row in rows:
            self.stdout.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
                              .rstrip())

    def _metrics(self, workspaces: list[str], window: str, as_json: bool) -> None:
        if not workspaces:
            self.stdout.write("No QuickBooks connections yet.")
            return
        found = [workspace_metrics(ws, window) for ws in workspaces]
        if as_json:
            self.stdout.write(json.dumps(found, indent=2, default=str))
            return
        for number, metrics in enumerate(found):
            if number:
                self.stdout.write("")
            for line in metrics_lines(metrics):
                self.stdout.write(line)
