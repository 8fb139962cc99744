"""Import paths of the 0.1 flat layout, kept for one release.

``import qbo_sync.client`` still works and warns: the old name is served by a small
module that forwards every attribute to the module's new home. Nothing inside qbo_sync
uses these paths; the import-linter contract forbids it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

#: Old dotted path → new dotted path.
MOVED = {
    "qbo_sync.capabilities": "qbo_sync.qbo.capabilities",
    "qbo_sync.client": "qbo_sync.qbo.client",
    "qbo_sync.encoding": "qbo_sync.qbo.wire",
    "qbo_sync.faults": "qbo_sync.qbo.faults",
    "qbo_sync.oauth_http": "qbo_sync.qbo.oauth_http",
    "qbo_sync.throttle": "qbo_sync.qbo.throttle",
    "qbo_sync.configure": "qbo_sync.connection.settings",
    "qbo_sync.lists": "qbo_sync.connection.lists",
    "qbo_sync.oauth": "qbo_sync.connection.oauth",
    "qbo_sync.status": "qbo_sync.connection.status",
    "qbo_sync.engine": "qbo_sync.sync.engine",
    "qbo_sync.history": "qbo_sync.sync.history",
    "qbo_sync.links": "qbo_sync.sync.links",
    "qbo_sync.outbox": "qbo_sync.sync.outbox",
    "qbo_sync.conflicts": "qbo_sync.push.conflicts",
    "qbo_sync.push_customer": "qbo_sync.push.customers",
    "qbo_sync.push_write": "qbo_sync.push.write",
    "qbo_sync.pull_apply": "qbo_sync.pull.apply",
    "qbo_sync.pull_changes": "qbo_sync.pull.changes",
    "qbo_sync.pull_events": "qbo_sync.pull.notices",
    "qbo_sync.pull_lock": "qbo_sync.pull.lock",
    "qbo_sync.pull_plan": "qbo_sync.pull.plan",
    "qbo_sync.webhooks": "qbo_sync.pull.webhooks",
}


#: Names that left their old module for another one than the module's new home.
MOVED_NAMES = {
    ("qbo_sync.engine", "retry_job"): "qbo_sync.sync.outbox",
    ("qbo_sync.engine", "sweep"): "qbo_sync.sync.outbox",
    ("qbo_sync.engine", "resume_parked"): "qbo_sync.sync.outbox",
    ("qbo_sync.engine", "JobRun"): "qbo_sync.sync.job",
    ("qbo_sync.engine", "Skip"): "qbo_sync.sync.job",
    ("qbo_sync.engine", "Defer"): "qbo_sync.sync.job",
    ("qbo_sync.links", "json_safe"): "qbo_sync.qbo.wire",
    ("qbo_sync.links", "request_id"): "qbo_sync.qbo.wire",
    ("qbo_sync.links", "marker"): "qbo_sync.push.context",
    ("qbo_sync.links", "mapping_context"): "qbo_sync.push.context",
    ("qbo_sync.client", "quote"): "qbo_sync.qbo.wire",
    ("qbo_sync.client", "where_eq"): "qbo_sync.qbo.wire",
    ("qbo_sync.oauth", "ConnectError"): "qbo_sync.exceptions",
    ("qbo_sync.oauth", "ConnectCancelled"): "qbo_sync.exceptions",
    ("qbo_sync.configure", "SettingsError"): "qbo_sync.exceptions",
    ("qbo_sync.history", "HistoryBusy"): "qbo_sync.exceptions",
    ("qbo_sync.pull_events", "MalformedDelivery"): "qbo_sync.exceptions",
}


class _Forwarder(types.ModuleType):
    """Stands in for an old module: attribute reads go to the new one."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, f"Moved to {target}.")
        self._target = target

    def __getattr__(self, attr: str) -> Any:
        home = MOVED_NAMES.get((self.__name__, attr), self._target)
        return getattr(importlib.import_module(home), attr)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name: str, path: Any = None, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if name not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; the old path goes in the next release.",
                      DeprecationWarning, stacklevel=2)
        return _Forwarder(spec.name, new)

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the forwarder reads the new module on demand."""


def install() -> None:
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
