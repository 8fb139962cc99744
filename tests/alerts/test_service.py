"""Flapping suppressed: an alert fires once, repeats at most every REPEAT_HOURS while
it lasts, and is resolved once its condition has stayed clear."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from qbo_sync.alerts import service
from qbo_sync.models import AlertState, Connection

from .support import alerts, connection

pytestmark = pytest.mark.django_db

ONLY_RECONNECT = {"RULES": ["reconnect"], "REPEAT_HOURS": 6, "RESOLVE_AFTER_MINUTES": 15,
                  "NOTIFIERS": ["qbo_sync.alerts.notifiers.EmailNotifier"]}


def _evaluate(at, **config):
    with alerts(**{**ONLY_RECONNECT, **config}):
        return service.evaluate("default", now=at)


def _needs_reconnect(yes: bool) -> None:
    Connection.objects.filter(workspace="default").update(
        status=Connection.Status.ERROR if yes else Connection.Status.CONNECTED,
        status_reason="QuickBooks refused to refresh the tokens." if yes else "")


def test_fires_once_then_stays_quiet_within_the_repeat_hours(managers):
    connection(status=Connection.Status.ERROR, status_reason="Refused.")
    t0 = timezone.now()
    outcome = _evaluate(t0)
    assert [e.kind for e in outcome.events] == ["fired"]
    assert outcome.delivered == {"qbo_sync.alerts.notifiers.EmailNotifier": "sent"}
    [message] = mail.outbox
    assert message.to == managers  # the admin and the manager, not the member
    assert message.subject == ("[QuickBooks sync] default: QuickBooks needs to be "
                               "reconnected")
    assert "New:\n• QuickBooks needs to be reconnected\n  Refused." in message.body
    for minutes in (5, 60, 5 * 60 + 59):
        assert _evaluate(t0 + timedelta(minutes=minutes)).events == []
    assert len(mail.outbox) == 1
    state = AlertState.objects.get()
    assert (state.rule, state.subject, state.active, state.notified_count) == (
        "reconnect", "9130", True, 1)


def test_repeats_after_the_repeat_hours_while_it_lasts(managers):
    connection(status=Connection.Status.ERROR)
    t0 = timezone.now()
    _evaluate(t0)
    assert [e.kind for e in _evaluate(t0 + timedelta(hours=6)).events] == ["repeated"]
    assert _evaluate(t0 + timedelta(hours=8)).events == []
    assert [e.kind for e in _evaluate(t0 + timedelta(hours=12, minutes=1)).events] == [
        "repeated"]
    assert len(mail.outbox) == 3
    assert "Still happening:" in mail.outbox[1].body
    assert AlertState.objects.get().notified_count == 3


def test_sends_resolved_once_the_condition_stays_clear(managers):
    connection(status=Connection.Status.ERROR)
    t0 = timezone.now()
    _evaluate(t0)
    _needs_reconnect(False)
    # Clear, but not yet for RESOLVE_AFTER_MINUTES: nothing is sent.
    assert _evaluate(t0 + timedelta(minutes=5)).events == []
    assert AlertState.objects.get().active
    outcome = _evaluate(t0 + timedelta(minutes=20))
    assert [e.kind for e in outcome.events] == ["resolved"]
    assert mail.outbox[-1].subject == ("[QuickBooks sync] default: resolved: QuickBooks "
                                       "needs to be reconnected")
    state = AlertState.objects.get()
    assert not state.active and state.resolved_at == t0 + timedelta(minutes=20)
    assert _evaluate(t0 + timedelta(minutes=30)).events == []
    assert len(mail.outbox) == 2


def test_a_condition_that_flaps_back_is_the_same_alert(managers):
    connection(status=Connection.Status.ERROR)
    t0 = timezone.now()
    _evaluate(t0)
    _needs_reconnect(False)
    _evaluate(t0 + timedelta(minutes=5))
    _needs_reconnect(True)
    assert _evaluate(t0 + timedelta(minutes=10)).events == []
    _needs_reconnect(False)
    _evaluate(t0 + timedelta(minutes=15))
    # Clear since minute 15, so minute 25 is too soon to call it resolved.
    assert _evaluate(t0 + timedelta(minutes=25)).events == []
    assert len(mail.outbox) == 1
    assert [e.kind for e in _evaluate(t0 + timedelta(minutes=30)).events] == ["resolved"]


def test_after_a_resolve_a_new_occurrence_fires_again(managers):
    connection(status=Connection.Status.ERROR)
    t0 = timezone.now()
    _evaluate(t0, RESOLVE_AFTER_MINUTES=0)
    _needs_reconnect(False)
    assert [e.kind for e in _evaluate(t0 + timedelta(minutes=5),
                                      RESOLVE_AFTER_MINUTES=0).events] == ["resolved"]
    _needs_reconnect(True)
    assert [e.kind for e in _evaluate(t0 + timedelta(minutes=10)).events] == ["fired"]
    assert len(mail.outbox) == 3 and AlertState.objects.count() == 1


def test_a_rule_that_cannot_tell_leaves_its_alert_as_it_was(managers):
    connection(status=Connection.Status.CONNECTED, refresh_token_hard_expires_at=None)
    AlertState.objects.create(workspace="default", rule="token_chain", subject="9130",
                              title="ends soon", last_notified_at=timezone.now())
    outcome = _evaluate(timezone.now() + timedelta(hours=1), RULES=["token_chain"])
    assert "token_chain" in outcome.unknown and outcome.events == []
    assert AlertState.objects.get().active


def test_a_rule_turned_off_closes_its_alert_without_a_message(managers):
    connection(status=Connection.Status.ERROR)
    t0 = timezone.now()
    _evaluate(t0)
    assert _evaluate(t0 + timedelta(minutes=5), RULES=["failure_rate"]).events == []
    assert not AlertState.objects.get().active and len(mail.outbox) == 1


def test_several_changes_go_in_one_message(managers):
    connection(status=Connection.Status.ERROR,
               refresh_token_hard_expires_at=timezone.now() + timedelta(days=3))
    AlertState.objects.create(workspace="default", rule="failure_rate", title="40 % failed",
                              last_notified_at=timezone.now(),
                              clear_since=timezone.now() - timedelta(hours=1))
    outcome = _evaluate(timezone.now(), RULES=["failure_rate", "reconnect", "token_chain"])
    assert sorted(e.kind for e in outcome.events) == ["fired", "resolved"]
    [message] = mail.outbox
    assert message.subject == "[QuickBooks sync] default: 1 new alert, 1 resolved"
    assert "New:\n• QuickBooks needs to be reconnected" in message.body
    assert "Resolved:\n• 40 % failed" in message.body


def test_a_dry_run_stores_and_sends_nothing(managers):
    connection(status=Connection.Status.ERROR)
    with alerts(**ONLY_RECONNECT):
        outcome = service.evaluate("default", dry_run=True)
    assert [e.kind for e in outcome.events] == ["fired"]
    assert not AlertState.objects.exists() and mail.outbox == []


def test_evaluate_all_covers_each_connected_workspace_and_honours_enabled(managers):
    connection(status=Connection.Status.ERROR)
    connection("gone", realm_id="1", status=Connection.Status.DISCONNECTED)
    with alerts(**ONLY_RECONNECT):
        assert [o.workspace for o in service.evaluate_all()] == ["default"]
    with alerts(**ONLY_RECONNECT, ENABLED=False):
        assert service.evaluate_all() == []
    assert len(mail.outbox) == 1


def test_the_digest_lists_open_and_recently_resolved_alerts(managers):
    now = timezone.now()
    AlertState.objects.create(workspace="default", rule="reconnect", title="Reconnect")
    AlertState.objects.create(workspace="default", rule="failure_rate", title="Failures",
                              active=False, resolved_at=now - timedelta(hours=2))
    AlertState.objects.create(workspace="default", rule="reconciliation", title="Old",
                              active=False, resolved_at=now - timedelta(days=2))
    with alerts(**ONLY_RECONNECT):
        message = service.digest("default", now=now)
        assert service.digest("other", now=now) is None
    assert message.subject == ("[QuickBooks sync] default: daily digest, 1 open, "
                               "1 resolved in the last day")
    [sent] = mail.outbox
    assert "Open:\n• Reconnect" in sent.body and "Resolved:\n• Failures" in sent.body
    assert "Old" not in sent.body


def _queries_for(n_failed: int) -> int:
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from .support import jobs

    conn = Connection.objects.get(workspace="default")
    jobs(conn, succeeded=0, failed=n_failed,
         finished=timezone.now() - timedelta(hours=2))
    with alerts(READ_COUNT=None, NOTIFIERS=[]), CaptureQueriesContext(db) as captured:
        service.evaluate("default", now=timezone.now())
    return len(captured.captured_queries)


def test_an_evaluation_costs_the_same_queries_for_10_or_300_failed_jobs():
    connection()
    small = _queries_for(10)
    AlertState.objects.all().delete()
    big = _queries_for(290)
    assert small == big and small <= 20
