"""What a handler gets and what it may raise besides errors: the contract between the
engine and the push and pull handlers. Handlers import this module, never the engine."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..models import Connection, SyncJob


class Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Nothing to do (unchanged, draft, already paid in QBO…); the message says why."""


class Defer(Exception):  # noqa: N818
    """Not yet: a dependency is still on its way. Re-run after ``seconds`` without
    counting an attempt."""

    def __init__(self, message: str, seconds: float = 30,
                 waiting_for: int | None = None) -> None:
        super().__init__(message)
        self.seconds = seconds
        #: The job this one waits for; when it finishes, this one is woken at once.
        self.waiting_for = waiting_for


@dataclass
class JobRun:
    """What a handler gets: the claimed job and everything resolved for it."""

    job: SyncJob
    connection: Connection
    obj: Any = None  # the host object (None for pull jobs)
    adapter: Any = None
    client: Any = None
    notes: list[str] = field(default_factory=list)  # shown in Sync Health
    #: A push's mapping context, built once per run (``push.context.context``).
    mapping_context: Any = None
    #: Set by a push whose write left QuickBooks' figures different from the app's
    #: (``push.totals``): the job ends "differs" with this explanation.
    totals: dict[str, Any] = field(default_factory=dict)
    #: QuickBooks' response to the run's last write (``push.context.record``).
    written: dict[str, Any] = field(default_factory=dict)
    #: Other job rows the run finished (a dependency pushed inline): what waited for
    #: them is woken with what waited for the job.
    finished: list[int] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(text)


Handler = Callable[[JobRun], "str | None"]


def worker_id() -> str:
    """Host and pid of the process running the job, read at claim time: a module constant
    would name the cluster master that imported the module before forking (issue 16)."""
    return f"{socket.gethostname()}:{os.getpid()}"
