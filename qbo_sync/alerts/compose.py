"""The words of alert messages (pure: events in, a :class:`Message` out)."""

from __future__ import annotations

from collections.abc import Sequence

from .notifiers import Event, Message

PREFIX = "[QuickBooks sync]"
_HEADINGS = (("fired", "New"), ("repeated", "Still happening"), ("active", "Open"),
             ("resolved", "Resolved"))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _sections(events: Sequence[Event]) -> str:
    parts = []
    for kind, heading in _HEADINGS:
        chosen = [e for e in events if e.kind == kind]
        if not chosen:
            continue
        lines = [f"{heading}:"]
        for event in chosen:
            lines.append(f"• {event.title}")
            if event.kind != "resolved":
                lines += [f"  {line}" for line in event.detail.splitlines()]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def alert_message(workspace: str, events: Sequence[Event]) -> Message:
    """One message about what changed in ``workspace`` in one evaluation."""
    new = sum(e.kind == "fired" for e in events)
    again = sum(e.kind == "repeated" for e in events)
    resolved = sum(e.kind == "resolved" for e in events)
    counts = [text for n, text in ((new, _plural(new, "new alert")),
                                   (again, f"{again} still open"),
                                   (resolved, f"{resolved} resolved")) if n]
    if len(events) == 1:
        event = events[0]
        subject = f"{PREFIX} {workspace}: " + (f"resolved: {event.title}"
                                                if event.kind == "resolved" else event.title)
    else:
        subject = f"{PREFIX} {workspace}: {', '.join(counts)}"
    text = (f"QuickBooks sync alerts for workspace {workspace}.\n\n{_sections(events)}\n")
    return Message(workspace=workspace, subject=subject, text=text, events=tuple(events))


def digest_message(workspace: str, events: Sequence[Event]) -> Message:
    """The daily digest: alerts still open and those resolved in the last day."""
    open_ = sum(e.kind == "active" for e in events)
    resolved = sum(e.kind == "resolved" for e in events)
    subject = (f"{PREFIX} {workspace}: daily digest, {open_} open, {resolved} resolved "
               "in the last day")
    text = f"Daily digest of QuickBooks sync alerts for workspace {workspace}.\n\n"
    text += _sections(events) + "\n"
    return Message(workspace=workspace, subject=subject, text=text, events=tuple(events))
