"""Dependencies resolve themselves: customer before invoice, invoice before payment."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from example_project.billing.models import Contact
from qbo_sync import receivers
from qbo_sync.models import EntityLink, SyncJob
from qbo_sync.sync import engine, outbox

from .conftest import job_for, jobs, qbo, run_due, send_invoice


def test_invoice_pushes_its_customer_first_as_its_own_row(qbo_simulator, connected,
                                                          us_workspace):
    with receivers.muted():  # e.g. imported before the connection: never pushed
        contact = Contact.objects.create(workspace=us_workspace, display_name="Umbrella Co",
                                         email="ap@umbrella.example")
    assert jobs() == []
    invoice = send_invoice(contact)
    inv_job = job_for(invoice)
    dep = job_for(contact)
    assert inv_job.status == "succeeded", inv_job.error_message
    assert (dep.entity, dep.status) == ("contact", "succeeded")
    assert f"Needed by job {inv_job.pk}" in dep.error_message
    assert f"job {dep.pk}" in inv_job.error_message
    [customer] = qbo(qbo_simulator, "Customer")
    assert dep.qbo_id == customer["Id"]
    assert qbo(qbo_simulator, "Invoice")[0]["CustomerRef"]["value"] == customer["Id"]


def test_failed_dependency_fails_the_invoice_with_the_reason(qbo_simulator, connected,
                                                             us_workspace):
    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace,
                                         display_name="Simulated Supplies Co")
    invoice = send_invoice(contact)
    inv_job, dep = job_for(invoice), job_for(contact)
    assert dep.status == "failed" and inv_job.status == "failed"
    assert "Ways out" in inv_job.error_message
    assert qbo(qbo_simulator, "Invoice") == []


def test_payment_waits_for_its_invoice(qbo_simulator, connected, contact, monkeypatch):
    dispatched: list[int] = []
    monkeypatch.setattr(outbox, "dispatch_many",
                        lambda ids, drain=False: dispatched.extend(ids) or len(ids))
    invoice = send_invoice(contact)
    payment = invoice.record_payment(Decimal("100.00"))
    inv_job, pay_job = job_for(invoice), job_for(payment)
    assert inv_job.status == pay_job.status == "pending"
    # The worker happens to take the payment first.
    assert engine.run_job(pay_job.pk) == "pending"
    pay_job.refresh_from_db()
    assert pay_job.attempts == 0  # waiting is not a failed try
    assert "Waiting for the invoice" in pay_job.error_message
    assert pay_job.next_attempt_at > timezone.now()
    assert qbo(qbo_simulator, "Payment") == []
    dispatched.clear()
    assert engine.run_job(inv_job.pk) == "succeeded"
    # The payment is woken as soon as its invoice is done, not at its next sweep.
    assert dispatched == [pay_job.pk]
    pay_job.refresh_from_db()
    assert pay_job.next_attempt_at <= timezone.now()
    assert engine.run_job(pay_job.pk) == "succeeded"
    [qpay] = qbo(qbo_simulator, "Payment")
    assert qpay["Line"][0]["LinkedTxn"][0]["TxnId"] == qbo(qbo_simulator, "Invoice")[0]["Id"]


def test_payment_pushes_an_invoice_that_is_not_in_qbo(qbo_simulator, connected, contact):
    old = timezone.localdate() - timedelta(days=40)
    invoice = send_invoice(contact, issue_date=old, due_date=old + timedelta(days=30))
    assert job_for(invoice) is None  # before the connection: not pushed by itself
    payment = invoice.record_payment(Decimal("50.00"))
    pay_job = job_for(payment)
    assert pay_job.status == "succeeded", pay_job.error_message
    dep = job_for(invoice)
    assert (dep.entity, dep.status) == ("invoice", "succeeded")
    assert len(qbo(qbo_simulator, "Invoice")) == 1
    assert len(qbo(qbo_simulator, "Payment")) == 1
    assert EntityLink.objects.filter(qbo_type="Invoice").count() == 1


def test_payment_on_a_draft_invoice_fails_with_the_fix(qbo_simulator, connected, contact):
    from .conftest import make_invoice

    invoice = make_invoice(contact)
    payment = invoice.record_payment(Decimal("10.00"))
    job = job_for(payment)
    assert job.status == "failed"
    assert "Send the invoice, then retry the payment" in job.error_message


def test_a_job_deferring_on_a_job_that_just_finished_is_not_left_waiting(
    qbo_simulator, connected, contact, monkeypatch
):
    """The awaited job finishes between the check and the deferral being saved: its
    wake-up found nobody waiting, so the deferring job must wake itself."""
    dispatched: list[int] = []
    monkeypatch.setattr(outbox, "dispatch", dispatched.append)
    invoice = send_invoice(contact)
    payment = invoice.record_payment(Decimal("100.00"))
    inv_job, pay_job = job_for(invoice), job_for(payment)
    assert engine.run_job(inv_job.pk) == "succeeded"  # already done…

    def late(run):  # …but this handler saw it still running
        raise engine.Defer("Waiting for the invoice", seconds=600, waiting_for=inv_job.pk)

    monkeypatch.setattr(engine, "HANDLERS", {("push", "payment"): late})
    dispatched.clear()
    assert engine.run_job(pay_job.pk) == "pending"
    pay_job.refresh_from_db()
    assert dispatched == [pay_job.pk]
    assert pay_job.next_attempt_at <= timezone.now()


def test_dependency_row_is_leased_and_swept_after_a_kill(qbo_simulator, connected,
                                                         us_workspace, monkeypatch):
    """Issue 16, defect 6: a worker killed while pushing a dependency inline leaves a
    running row with a lease; the sweeper re-runs it once the lease is over."""
    from qbo_sync.push import documents
    from qbo_sync.sync.job import worker_id

    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace, display_name="Initech",
                                         email="ap@initech.example")
    seen: dict = {}

    def killed(*args, **kwargs):
        row = job_for(contact)
        seen.update(status=row.status, by=row.claimed_by, until=row.claimed_until)
        raise SystemExit("worker killed")

    monkeypatch.setattr(documents, "sync_customer", killed)
    try:
        send_invoice(contact)
    except SystemExit:
        pass
    assert seen["status"] == "running" and seen["by"] == worker_id()
    assert seen["until"] > timezone.now()
    monkeypatch.undo()
    dep = job_for(contact)
    assert dep.status == "running"
    SyncJob.objects.filter(pk=dep.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
    outbox.sweep()  # tasks run inline in the tests: the row is claimed and run
    dep.refresh_from_db()
    assert dep.status == "succeeded", dep.error_message
    assert len(qbo(qbo_simulator, "Customer")) == 1


def test_failed_dependency_row_is_taken_up_when_its_parent_retries(qbo_simulator, connected,
                                                                   us_workspace):
    """Issue 16, 9.2: no failed row left beside the later success."""
    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace, display_name="Hooli",
                                         email="ap@hooli.example")
    qbo_simulator.inject("error", status=503, method="POST", path="/customer$")
    invoice = send_invoice(contact)
    inv_job = job_for(invoice)
    assert inv_job.status == "pending"  # transient: retried by itself
    assert job_for(contact).status == "failed"
    assert run_due(inv_job) == "succeeded"
    [dep] = jobs(entity="contact")
    assert (dep.status, dep.attempts) == ("succeeded", 2)
    assert dep.claimed_until is None


def test_a_failed_inline_try_is_settled_once_the_contacts_own_job_succeeds(
        qbo_simulator, connected, us_workspace):
    """The invoice's inline try fails; the contact's own job then creates it."""
    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace, display_name="Globex",
                                         email="ap@globex.example")
    qbo_simulator.inject("error", status=503, method="POST", path="/customer$")
    send_invoice(contact)
    [dep] = jobs(entity="contact")
    assert dep.status == "failed"
    own = outbox.enqueue("contact", contact)
    own.refresh_from_db()
    assert own.pk != dep.pk and own.status == "succeeded", own.error_message
    dep.refresh_from_db()
    assert dep.status == "succeeded" and f"by job {own.pk}" in dep.error_message
    assert len(qbo(qbo_simulator, "Customer")) == 1


def test_an_invoice_waits_for_the_worker_creating_its_customer(qbo_simulator, connected,
                                                               us_workspace, monkeypatch):
    """Another worker took the customer's create mark just before this one: the invoice's
    try waits for that worker's job, not for the Sync Health row it wrote for the
    customer itself (a row it deletes as it gives up)."""
    from qbo_sync.sync import links

    monkeypatch.setattr(outbox, "dispatch_many", lambda ids, drain=False: len(ids))
    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace, display_name="Initech LLC")
    invoice = send_invoice(contact)
    inv_job = job_for(invoice)
    theirs: list[SyncJob] = []


    # The other worker's row comes after ours.
    monkeypatch.setattr(links, "start_create", _taken_elsewhere(connected, theirs))
    assert engine.run_job(inv_job.pk) == "pending"
    inv_job.refresh_from_db()
    assert inv_job.waiting_for_id == theirs[0].pk
    assert "Another worker is creating this Customer" in inv_job.error_message
    # Its own row for the customer is gone, and nothing points at it.
    assert list(SyncJob.objects.filter(entity="contact").values_list("pk", flat=True)) == [
        theirs[0].pk]


def test_a_try_whose_awaited_job_vanishes_as_it_saves_runs_again_soon(
        qbo_simulator, connected, us_workspace, monkeypatch):
    """The job waited for is deleted between the check and the save (another worker gave
    up its dependency row): the try is saved waiting for nothing and is due at once."""
    from qbo_sync.sync import links

    monkeypatch.setattr(outbox, "dispatch_many", lambda ids, drain=False: len(ids))
    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace, display_name="Pied Piper")
    inv_job = job_for(send_invoice(contact))
    theirs: list[SyncJob] = []


    from django.db import transaction

    class Meanwhile:  # the other worker deletes its row just before this one's save
        def atomic(self, *args, **kwargs):
            if theirs and SyncJob.objects.filter(pk=theirs[0].pk).exists():
                SyncJob.objects.filter(pk=theirs[0].pk).delete()
            return transaction.atomic(*args, **kwargs)

    monkeypatch.setattr(links, "start_create", _taken_elsewhere(connected, theirs))
    monkeypatch.setattr(engine, "transaction", Meanwhile())
    assert engine.run_job(inv_job.pk) == "pending"
    inv_job.refresh_from_db()
    assert inv_job.waiting_for_id is None
    assert inv_job.next_attempt_at <= timezone.now()


def test_what_waits_for_a_customer_pushed_inline_is_woken_when_it_is_in(
        qbo_simulator, connected, us_workspace, monkeypatch):
    """A job that waits for another job's inline push of a customer (the Sync Health row
    of that dependency) runs as soon as that push is done, not at the next sweep."""
    from qbo_sync.push import documents

    dispatched: list[int] = []
    monkeypatch.setattr(outbox, "dispatch_many",
                        lambda ids, drain=False: dispatched.extend(ids) or len(ids))
    with receivers.muted():
        contact = Contact.objects.create(workspace=us_workspace, display_name="Globex LLC")
    first, second = (job_for(send_invoice(contact, number=f"INV-0000{n}")) for n in (1, 2))
    later = timezone.now() + timedelta(minutes=5)
    real_row = documents._dependency_row

    def row(run, kind, obj):  # the second invoice waits for the first one's customer push
        job, before = real_row(run, kind, obj)
        SyncJob.objects.filter(pk=second.pk).update(waiting_for=job, next_attempt_at=later)
        return job, before

    monkeypatch.setattr(documents, "_dependency_row", row)
    dispatched.clear()
    assert engine.run_job(first.pk) == "succeeded"
    second.refresh_from_db()
    assert second.next_attempt_at <= timezone.now()
    assert second.pk in dispatched


def _taken_elsewhere(connected, theirs: list):
    """A stand-in for ``links.start_create`` that finds the create mark held by another
    worker, whose running job it writes into ``theirs``."""

    def start_create(link):
        now = timezone.now()
        theirs.append(SyncJob.objects.create(
            connection=connected, workspace="default", content_type_id=link.content_type_id,
            object_id=link.object_id, entity="contact", action="create", status="running",
            claimed_by="other-host:4242", claimed_until=now + timedelta(minutes=5),
            next_attempt_at=now, max_attempts=5))
        return False

    return start_create
