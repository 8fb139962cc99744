"""``manage.py qbo_sync_settings``: headless setup of a workspace's sync settings and
mappings (the same validation as the admin and the API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...connection.documents import export_document, import_document
from ...connection.settings import (
    SETTINGS_FIELDS,
    import_mappings,
    missing_required,
    update_settings,
)
from ...connection.versions import recording
from ...exceptions import QBOSyncError
from ...models import Connection


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or key.strip() not in SETTINGS_FIELDS:
        raise CommandError(f"--set {text!r}: use key=value with key one of "
                           f"{', '.join(SETTINGS_FIELDS)}.")
    return key.strip(), value.strip()


def _read(path: str) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise CommandError(f"Cannot read {path}: {err}. It must be a JSON object like "
                           '{"design": "21"}.') from None
    if not isinstance(data, dict):
        raise CommandError(f"{path} must hold a JSON object like {{\"design\": \"21\"}}.")
    return data


class Command(BaseCommand):
    help = "Set a workspace's QuickBooks settings and mappings, or export them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True)
        parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help=f"One of: {', '.join(SETTINGS_FIELDS)}. Repeatable.")
        parser.add_argument("--import-items", metavar="FILE",
                            help='JSON {"category": "item id"}.')
        parser.add_argument("--import-taxes", metavar="FILE",
                            help='JSON {"tax rate key": "tax code id"}.')
        parser.add_argument("--import", dest="import_file", metavar="FILE",
                            help='A whole export, {"schema_version": 1, "settings": {...}, '
                            '"items": {...}, "taxes": {...}} (an older unversioned export '
                            "is migrated).")
        parser.add_argument("--replace", action="store_true",
                            help="With --import: remove mappings the file does not hold.")
        parser.add_argument("--note", default="",
                            help="A note kept with the new settings version.")
        parser.add_argument("--export", action="store_true",
                            help='Print settings and mappings as versioned JSON '
                            '({"schema_version": 1, ...}).')

    def handle(self, *args: Any, **opts: Any) -> None:
        conn = Connection.objects.filter(workspace=opts["workspace"]).first()
        if conn is None:
            raise CommandError(f"Workspace {opts['workspace']!r} has no QuickBooks "
                               "connection. Connect it first (admin → QuickBooks → Connect).")
        changes = dict(_pair(text) for text in opts["set"])
        try:
            with recording(conn, note=opts["note"]):
                self._apply(conn, changes, opts)
        except QBOSyncError as err:
            raise CommandError(f"{err.message} Fix: {err.fix}") from None
        if opts["export"]:
            self.stdout.write(json.dumps(export_document(conn), indent=2, sort_keys=True))
        missing = missing_required(conn)
        if missing:
            self.stderr.write(f"Still missing: {', '.join(missing)}.")

    def _apply(self, conn: Connection, changes: dict[str, str], opts: dict[str, Any]) -> None:
        """Every change of one run of the command: one settings version."""
        if opts["import_file"]:
            summary = import_document(conn, _read(opts["import_file"]),
                                      replace=opts["replace"])
            self.stdout.write(f"settings: {len(summary['settings'])} changed.")
            for kind in ("items", "taxes"):
                if kind in summary:
                    self._summary(kind, summary[kind])
        for change in update_settings(conn, **changes) if changes else []:
            self.stdout.write(f"{change.field}: {change.old_value or '-'} → "
                              f"{change.new_value or '-'}")
        for kind, option in (("items", "import_items"), ("taxes", "import_taxes")):
            if opts[option]:
                self._summary(kind, import_mappings(conn, data=_read(opts[option]), kind=kind))

    def _summary(self, kind: str, summary: dict[str, list[str]]) -> None:
        self.stdout.write(f"{kind} mappings: {len(summary['created'])} created, "
                          f"{len(summary['updated'])} updated, "
                          f"{len(summary['unchanged'])} unchanged"
                          + (f", {len(summary['deleted'])} removed." if summary['deleted']
                             else "."))
