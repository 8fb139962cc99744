"""``qbo_sync_alerts``, the alert schedules and the ALERTS system check."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from qbo_sync.checks import check_settings
from qbo_sync.models import AlertState, Connection
from qbo_sync.schedules import install_schedules

from .support import alerts, connection

pytestmark = pytest.mark.django_db
CONFIG = {"RULES": ["reconnect", "read_budget"], "READ_COUNT": None,
          "NOTIFIERS": ["qbo_sync.alerts.notifiers.EmailNotifier"]}


def _run(*args: str) -> str:
    out = StringIO()
    with alerts(**CONFIG):
        call_command("qbo_sync_alerts", *args, stdout=out)
    return out.getvalue()


def test_the_command_evaluates_sends_and_says_what_it_could_not_evaluate(managers):
    connection(status=Connection.Status.ERROR)
    out = _run("--workspace", "default")
    assert "default: 1 condition(s) found" in out
    assert "reconnect: QuickBooks needs to be reconnected" in out
    assert "read_budget: not evaluated: no source of metered-read counts" in out
    assert "fired: QuickBooks needs to be reconnected" in out
    assert "qbo_sync.alerts.notifiers.EmailNotifier: sent" in out
    assert len(mail.outbox) == 1
    assert "nothing new to send" in _run()  # the second run: suppressed


def test_the_command_dry_run_stores_and_sends_nothing(managers):
    connection(status=Connection.Status.ERROR)
    out = _run("--dry-run")
    assert "(dry run: nothing is stored or sent)" in out
    assert "would fire: QuickBooks needs to be reconnected" in out
    assert mail.outbox == [] and not AlertState.objects.exists()


def test_the_command_sends_the_digest(managers):
    connection()
    assert "no alert open or resolved in the last day" in _run("--digest")
    AlertState.objects.create(workspace="default", rule="reconnect", title="Reconnect")
    assert "would send digest" in _run("--digest", "--dry-run") and mail.outbox == []
    assert "sent digest: [QuickBooks sync] default: daily digest" in _run("--digest")
    assert len(mail.outbox) == 1


def test_the_command_refuses_an_unknown_workspace_and_bad_settings(db):
    with pytest.raises(CommandError, match="has no QuickBooks connection"):
        _run("--workspace", "nope")
    with alerts(REPEAT_HOURS="soon"), pytest.raises(CommandError, match="REPEAT_HOURS"):
        call_command("qbo_sync_alerts", stdout=StringIO())


def test_the_schedule_runs_every_interval_and_the_digest_only_when_on():
    with alerts(INTERVAL_MINUTES=3):
        assert "qbo_sync.alerts" in install_schedules()
    row = Schedule.objects.get(name="qbo_sync.alerts")
    assert (row.func, row.schedule_type, row.minutes) == (
        "qbo_sync.tasks.evaluate_alerts", Schedule.MINUTES, 3)
    assert not Schedule.objects.filter(name="qbo_sync.alert_digest").exists()
    with alerts(DIGEST=True):
        install_schedules()
    digest = Schedule.objects.get(name="qbo_sync.alert_digest")
    assert (digest.func, digest.schedule_type) == ("qbo_sync.tasks.send_alert_digests",
                                                   Schedule.DAILY)
    with alerts(ENABLED=False, DIGEST=True):
        names = install_schedules()
    assert "qbo_sync.alerts" not in names
    assert not Schedule.objects.filter(name__in=["qbo_sync.alerts",
                                                 "qbo_sync.alert_digest"]).exists()


def test_the_scheduled_task_evaluates_every_workspace(managers):
    from qbo_sync import tasks

    connection(status=Connection.Status.ERROR)
    with alerts(**CONFIG):
        assert tasks.evaluate_alerts() == 1
        assert tasks.evaluate_alerts() == 0
        assert tasks.send_alert_digests() == 0  # DIGEST is off: a stale schedule sends none
    with alerts(**CONFIG, DIGEST=True):
        assert tasks.send_alert_digests() == 1
    assert len(mail.outbox) == 2


def _e012() -> list[str]:
    return [e.msg for e in check_settings() if e.id == "qbo_sync.E012"]


def test_the_defaults_and_the_example_pass_the_check():
    assert _e012() == []


@pytest.mark.parametrize(("config", "needle"), [
    ({"REPEAT_HOURS": 0}, "['REPEAT_HOURS'] must be a number 0.1 or more (got 0)"),
    ({"FAILURE_RATE_PERCENT": 100}, "['FAILURE_RATE_PERCENT'] must be a number from 0 to "
                                    "99.99"),
    ({"FAILURE_RATE_MIN_JOBS": 2.5}, "['FAILURE_RATE_MIN_JOBS'] must be a whole number"),
    ({"INTERVAL_MINUTES": True}, "['INTERVAL_MINUTES'] must be a whole number from 1"),
    ({"RULES": ["reconnect", "typo"]}, "['RULES'] must be a list of rule keys"),
    ({"NOTIFIERS": ["no.such.Notifier"]}, "['NOTIFIERS'] cannot be loaded"),
    ({"NOTIFIERS": "qbo_sync.alerts.notifiers.EmailNotifier"}, "must be a list of dotted"),
    ({"RECIPIENTS": "no.such.hook"}, "['RECIPIENTS'] cannot be loaded"),
    ({"READ_COUNT": "qbo_sync.alerts.rules.LISTED"}, "['READ_COUNT'] cannot be loaded"),
    ({"DIGEST": "yes"}, "['DIGEST'] must be True or False"),
    ({"SECRET_WEBHOOK_URL": "hooks.slack.com/services/SeCrEt"}, "must be an http(s) URL"),
    ({"SOUND": "loud"}, "has an unknown key 'SOUND'"),
])
def test_the_check_names_each_wrong_value_and_its_fix(config, needle):
    with alerts(**config):
        messages = _e012()
    assert len(messages) == 1 and needle in messages[0]
    assert "SeCrEt" not in messages[0]


def test_the_check_refuses_alerts_that_are_not_a_dict():
    from django.conf import settings
    from django.test import override_settings

    with override_settings(QBO_SYNC={**settings.QBO_SYNC, "ALERTS": ["on"]}):
        assert "must be a dict of alert settings (got list)" in _e012()[0]


def test_the_admin_lists_only_the_managed_workspaces_alerts(client, managers):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    AlertState.objects.create(workspace="default", rule="reconnect", title="Reconnect ours")
    AlertState.objects.create(workspace="uk", rule="reconnect", title="Reconnect theirs")
    user = get_user_model().objects.get(username="manager")
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="qbo_sync"))
    client.force_login(user)
    page = client.get("/admin/qbo_sync/alertstate/")
    assert page.status_code == 200
    assert b"Reconnect ours" in page.content and b"Reconnect theirs" not in page.content
