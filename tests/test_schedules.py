"""Schedules are installed idempotently; the pull command runs a catch-up now."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_q.models import Schedule

from example_project.billing.models import Invoice
from qbo_sync.conf import app_settings
from qbo_sync.schedules import install_schedules
from qbo_sync.testing.simulator.companies import US_REALM

from .pull.support import linked_invoice

pytestmark = pytest.mark.django_db


def test_install_creates_then_updates_without_duplicates():
    assert install_schedules() == ["qbo_sync.pull_all", "qbo_sync.sweep", "qbo_sync.prune",
                                   "qbo_sync.check_overdue", "qbo_sync.reconcile_all",
                                   "qbo_sync.alerts"]
    pull = Schedule.objects.get(name="qbo_sync.pull_all")
    assert (pull.func, pull.schedule_type, pull.minutes, pull.repeats) == (
        "qbo_sync.tasks.pull_all", Schedule.MINUTES, 10, -1)
    assert Schedule.objects.get(name="qbo_sync.sweep").minutes == 1

    Schedule.objects.create(name="qbo_sync.pull_all", func="old.func")  # a stray copy
    settings = {**app_settings.user_settings, "POLL_INTERVAL_MINUTES": 15}
    with override_settings(QBO_SYNC=settings):
        install_schedules()
    rows = Schedule.objects.filter(name="qbo_sync.pull_all")
    assert rows.count() == 1
    assert rows.get().pk == pull.pk and rows.get().minutes == 15
    assert Schedule.objects.count() == 6


def test_reconciliation_runs_daily_by_default_and_can_be_turned_off():
    install_schedules()
    rec = Schedule.objects.get(name="qbo_sync.reconcile_all")
    assert (rec.func, rec.schedule_type, rec.minutes) == (
        "qbo_sync.tasks.reconcile_all", Schedule.MINUTES, 24 * 60)
    settings = {**app_settings.user_settings, "RECONCILE_INTERVAL_HOURS": 0}
    with override_settings(QBO_SYNC=settings):
        assert "qbo_sync.reconcile_all" not in install_schedules()
    assert not Schedule.objects.filter(name="qbo_sync.reconcile_all").exists()


def test_the_prune_runs_daily_with_the_others():
    install_schedules()
    prune = Schedule.objects.get(name="qbo_sync.prune")
    assert (prune.func, prune.schedule_type, prune.repeats) == (
        "qbo_sync.tasks.prune", Schedule.DAILY, -1)
    next_run = prune.next_run
    install_schedules()
    assert Schedule.objects.get(name="qbo_sync.prune").next_run == next_run


def test_install_command_prints_the_schedules():
    out = StringIO()
    call_command("qbo_sync_install_schedules", stdout=out)
    call_command("qbo_sync_install_schedules", stdout=out)
    assert "qbo_sync.pull_all: qbo_sync.tasks.pull_all every 10 min" in out.getvalue()
    assert "qbo_sync.prune: qbo_sync.tasks.prune daily" in out.getvalue()
    assert "qbo_sync.reconcile_all: qbo_sync.tasks.reconcile_all every 1440 min" \
        in out.getvalue()
    assert "qbo_sync.check_overdue: qbo_sync.tasks.check_overdue daily" in out.getvalue()
    assert Schedule.objects.count() == 6


def test_pull_all_queues_each_connected_workspace(qbo_simulator, qbo_connection):
    from qbo_sync.pull.cycle import pull_all

    qbo_simulator.clear_log()
    assert pull_all() == 1  # django-q2 runs it inline in the tests
    assert [r.path.rsplit("/", 1)[-1] for r in qbo_simulator.requests_log] == ["cdc"]
    qbo_connection.refresh_from_db()
    assert qbo_connection.cdc_cursor is not None


def test_pull_command_pulls_now_and_prints_a_summary(
    qbo_simulator, qbo_connection, host_contact, qbo_customer
):
    invoice, qbo = linked_invoice(qbo_connection, host_contact, qbo_customer)
    qbo_simulator.accountant.record_payment(US_REALM, qbo["Id"], Decimal("100.00"))
    out = StringIO()
    call_command("qbo_sync_pull", "--workspace", "default", stdout=out)
    assert "default: cdc since" in out.getvalue()
    assert "2 action(s): 2 done" in out.getvalue()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID


def test_pull_command_names_the_fix_for_an_unknown_workspace(db):
    with pytest.raises(CommandError, match="connect it first"):
        call_command("qbo_sync_pull", "--workspace", "nope")
