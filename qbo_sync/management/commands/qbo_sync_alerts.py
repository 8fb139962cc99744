"""``manage.py qbo_sync_alerts [--workspace W] [--dry-run] [--digest]``: evaluate the
alert rules now and send what changed (the ``qbo_sync.alerts`` schedule does the same)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...alerts import service
from ...alerts.config import alert_settings, problems
from ...models import Connection

_VERBS = {"fired": "would fire", "repeated": "would repeat", "resolved": "would resolve"}


class Command(BaseCommand):
    help = ("Evaluate the QuickBooks sync alert rules now and send new, repeated and "
            "resolved alerts through the configured notifiers.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", help="Only this workspace (default: every one "
                            "with a connection that is not disconnected).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Show what would be sent; store and send nothing.")
        parser.add_argument("--digest", action="store_true",
                            help="Send the daily digest of open and resolved alerts instead.")

    def handle(self, *args: Any, **opts: Any) -> None:
        found = problems(alert_settings())
        if found:
            raise CommandError("QBO_SYNC['ALERTS'] " + " ".join(found))
        workspace, dry_run = opts["workspace"], opts["dry_run"]
        if workspace is not None and not Connection.objects.filter(workspace=workspace).exists():
            raise CommandError(f"Workspace {workspace[:100]!r} has no QuickBooks connection; "
                               "give a workspace key that qbo_sync_status lists.")
        names = [workspace] if workspace is not None else service.workspaces()
        if not alert_settings()["ENABLED"]:
            self.stdout.write("Note: QBO_SYNC['ALERTS']['ENABLED'] is off, so no schedule "
                              "runs this; evaluating by hand anyway.")
        for name in names:
            if opts["digest"]:
                self._digest(name, dry_run)
            else:
                self._evaluate(name, dry_run)

    def _digest(self, workspace: str, dry_run: bool) -> None:
        message = service.digest(workspace, dry_run=dry_run)
        if message is None:
            self.stdout.write(f"{workspace}: no alert open or resolved in the last day; "
                              "no digest sent.")
        else:
            verb = "would send" if dry_run else "sent"
            self.stdout.write(f"{workspace}: {verb} digest: {message.subject}")

    def _evaluate(self, workspace: str, dry_run: bool) -> None:
        outcome = service.evaluate(workspace, dry_run=dry_run)
        self.stdout.write(f"{workspace}: {len(outcome.findings)} condition(s) found"
                          + (" (dry run: nothing is stored or sent)" if dry_run else ""))
        for finding in outcome.findings:
            self.stdout.write(f"  {finding.rule}: {finding.title}")
        for rule, reason in outcome.unknown.items():
            self.stdout.write(f"  {rule}: not evaluated: {reason}")
        for event in outcome.events:
            verb = _VERBS[event.kind] if dry_run else event.kind
            self.stdout.write(f"  {verb}: {event.title}")
        if not outcome.events:
            self.stdout.write("  nothing new to send")
        for notifier, result in outcome.delivered.items():
            self.stdout.write(f"  {notifier}: {result}")
