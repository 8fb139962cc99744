"""Evaluate the rules and send what changed, with the flapping suppressed.

An alert (a workspace, a rule and a subject; :class:`~qbo_sync.models.AlertState`)
fires once when its condition appears, is repeated at most every ``REPEAT_HOURS`` while
it lasts, and is resolved once when the condition has stayed clear for
``RESOLVE_AFTER_MINUTES``; if it comes back sooner, it is the same alert, not a new
one. A rule that cannot tell (:class:`~.rules.Unknown`) leaves its alerts as they were.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ..models import AlertState, Connection
from . import compose
from .config import RULE_KEYS, alert_settings
from .notifiers import Event, deliver
from .rules import RULES, Context, Finding, Unknown

logger = logging.getLogger("qbo_sync.alerts")


@dataclass
class Outcome:
    """What one evaluation of one workspace found and sent."""

    workspace: str
    findings: list[Finding] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    unknown: dict[str, str] = field(default_factory=dict)
    delivered: dict[str, str] = field(default_factory=dict)


def workspaces() -> list[str]:
    """The workspaces alerts are evaluated for: every connection not disconnected."""
    return list(Connection.objects.exclude(status=Connection.Status.DISCONNECTED)
                .order_by("workspace").values_list("workspace", flat=True))


def find(workspace: str, *, now: datetime | None = None) -> tuple[list[Finding], dict[str, str]]:
    """Run the enabled rules for ``workspace``: the findings, and the rules that could
    not tell with why."""
    config = alert_settings()
    ctx = Context(workspace, Connection.objects.filter(workspace=workspace).first(),
                  now or timezone.now(), config)
    findings: list[Finding] = []
    unknown: dict[str, str] = {}
    for key in RULE_KEYS:
        if key not in config["RULES"]:
            continue
        result = RULES[key](ctx)
        if isinstance(result, Unknown):
            unknown[key] = result.reason
        else:
            findings += result
    return findings, unknown


def _event(kind: str, state: AlertState) -> Event:
    return Event(kind, state.rule, state.title, state.detail, state.subject)


def _advance(workspace: str, findings: list[Finding], unknown: dict[str, str],
             now: datetime) -> list[Event]:
    """Bring the workspace's alert states in line with ``findings``; the events to send."""
    config = alert_settings()
    repeat = timedelta(hours=config["REPEAT_HOURS"])
    settle = timedelta(minutes=config["RESOLVE_AFTER_MINUTES"])
    evaluated = {key for key in config["RULES"] if key not in unknown}
    events: list[Event] = []
    states = {(s.rule, s.subject): s
              for s in AlertState.objects.select_for_update().filter(workspace=workspace)}
    for found in findings:
        state = states.pop((found.rule, found.subject), None)
        if state is None:
            state = AlertState(workspace=workspace, rule=found.rule, subject=found.subject)
        kind = ""
        if state.pk is None or not state.active:
            state.active, state.first_seen_at, state.resolved_at = True, now, None
            kind = "fired"
        elif state.last_notified_at is None or now - state.last_notified_at >= repeat:
            kind = "repeated"
        state.title, state.detail = found.title[:255], found.detail
        state.last_seen_at, state.clear_since = now, None
        if kind:
            state.last_notified_at, state.notified_count = now, state.notified_count + 1
            events.append(_event(kind, state))
        state.save()
    for state in states.values():
        if not state.active or state.rule in unknown:
            continue
        if state.rule not in evaluated:
            # The rule was turned off: close its alert without a message.
            state.active, state.resolved_at = False, now
        else:
            state.clear_since = state.clear_since or now
            if now - state.clear_since >= settle:
                state.active, state.resolved_at = False, now
                events.append(_event("resolved", state))
        state.save()
    return events


def evaluate(workspace: str, *, dry_run: bool = False, now: datetime | None = None) -> Outcome:
    """Evaluate ``workspace``'s rules and send one message with what changed. With
    ``dry_run`` nothing is stored or sent: the events are those that would be sent."""
    now = now or timezone.now()
    findings, unknown = find(workspace, now=now)
    outcome = Outcome(workspace, findings=findings, unknown=unknown)
    with transaction.atomic():
        outcome.events = _advance(workspace, findings, unknown, now)
        if dry_run:
            transaction.set_rollback(True)
    if outcome.events and not dry_run:
        outcome.delivered = deliver(compose.alert_message(workspace, outcome.events))
    return outcome


def evaluate_all(*, now: datetime | None = None) -> list[Outcome]:
    """Evaluate every workspace (the schedule's task). One workspace's error is logged
    and does not stop the others."""
    outcomes: list[Outcome] = []
    if not alert_settings()["ENABLED"]:
        return outcomes
    for workspace in workspaces():
        try:
            outcomes.append(evaluate(workspace, now=now))
        except Exception:
            logger.exception("Alerts of workspace %s could not be evaluated", workspace)
    return outcomes


def digest(workspace: str, *, now: datetime | None = None, dry_run: bool = False):
    """The daily digest of ``workspace``: its open alerts and those resolved in the last
    day, sent when there is any (returns the message, or None)."""
    now = now or timezone.now()
    states = AlertState.objects.filter(workspace=workspace).order_by("rule", "subject")
    events = [_event("active", s) for s in states.filter(active=True)]
    events += [_event("resolved", s) for s in
               states.filter(active=False, resolved_at__gte=now - timedelta(days=1))]
    if not events:
        return None
    message = compose.digest_message(workspace, events)
    if not dry_run:
        deliver(message)
    return message


def digest_all(*, now: datetime | None = None) -> int:
    """Send every workspace's digest (the daily schedule's task) while ``DIGEST`` and
    ``ENABLED`` are on; returns how many were sent."""
    config = alert_settings()
    if not (config["ENABLED"] and config["DIGEST"]):
        return 0
    sent = 0
    for workspace in workspaces():
        try:
            sent += digest(workspace, now=now) is not None
        except Exception:
            logger.exception("The alert digest of workspace %s could not be made", workspace)
    return sent
