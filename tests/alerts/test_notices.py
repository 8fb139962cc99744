"""Opt-in notices of new records: what each job tells, who opted in, and that a notice
goes out only after the job's transaction commits."""

from __future__ import annotations

import pytest
from django.core import mail

from qbo_sync import signals
from qbo_sync.alerts.config import problems
from qbo_sync.alerts.notices import notice
from qbo_sync.conf import DEFAULTS
from qbo_sync.models import SyncJob

from .support import alerts, connection, job

pytestmark = pytest.mark.django_db

EMAIL = ["qbo_sync.alerts.notifiers.EmailNotifier"]


def _created_invoice() -> SyncJob:
    row = job(connection(), SyncJob.Status.SUCCEEDED)
    row.qbo_id, row.response = "146", {"Id": "146", "DocNumber": "INV-0042"}
    return row


def _received_payment() -> SyncJob:
    row = job(connection(), SyncJob.Status.SUCCEEDED, entity="payment")
    row.direction, row.action, row.qbo_id = SyncJob.Direction.PULL, "pull_payment", "77"
    row.payload = {"invoice_id": "146", "amount": "125.50"}
    return row


def test_an_invoice_created_in_quickbooks_tells_its_number_and_id():
    event = notice(_created_invoice())
    assert event.rule == "invoice_created"
    assert event.title == "Invoice INV-0042 created in QuickBooks"
    assert "QuickBooks invoice 146" in event.detail


def test_a_payment_received_tells_its_exact_amount_and_invoice():
    event = notice(_received_payment())
    assert event.rule == "payment_received"
    assert event.title == "Payment of 125.50 received in QuickBooks"
    assert "applied to QuickBooks invoice 146" in event.detail


def test_updates_and_other_jobs_give_no_notice():
    row = _created_invoice()
    row.action = "update"
    assert notice(row) is None
    contact = job(None, SyncJob.Status.SUCCEEDED, entity="contact", object_id="9")
    assert notice(contact) is None


def test_a_workspace_that_did_not_opt_in_is_told_nothing(managers,
                                                         django_capture_on_commit_callbacks):
    with alerts(NOTIFIERS=EMAIL), django_capture_on_commit_callbacks(execute=True):
        signals.sync_succeeded.send(sender=SyncJob, job=_received_payment(), qbo_id="77")
    assert mail.outbox == []


def test_an_opted_in_workspace_is_told_after_the_commit(managers,
                                                        django_capture_on_commit_callbacks):
    with alerts(NOTIFIERS=EMAIL, RECORD_NOTICES={"default": ["payment_received"]}):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            signals.sync_succeeded.send(sender=SyncJob, job=_received_payment(), qbo_id="77")
        assert mail.outbox == []  # nothing before the commit
        for callback in callbacks:
            callback()
    [sent] = mail.outbox
    assert sent.to == managers
    assert sent.subject == "[QuickBooks sync] default: Payment of 125.50 received in QuickBooks"


def test_only_the_kinds_a_workspace_chose_are_sent(managers,
                                                   django_capture_on_commit_callbacks):
    with alerts(NOTIFIERS=EMAIL, RECORD_NOTICES={"default": ["payment_received"]}), \
            django_capture_on_commit_callbacks(execute=True):
        signals.sync_succeeded.send(sender=SyncJob, job=_created_invoice(), qbo_id="146")
    assert mail.outbox == []


@pytest.mark.parametrize("value", [["payment_received"], {"default": ["invoice_paid"]},
                                   {"default": "payment_received"}])
def test_a_bad_record_notices_setting_names_the_fix(value):
    [problem] = problems({**DEFAULTS["ALERTS"], "RECORD_NOTICES": value})
    assert "invoice_created, payment_received" in problem and "{} for none" in problem


def test_the_default_is_no_notices():
    assert DEFAULTS["ALERTS"]["RECORD_NOTICES"] == {}
    assert problems(dict(DEFAULTS["ALERTS"])) == []
