"""Historical sync: which objects get a push job, in which order, with progress."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType

from example_project.billing.models import Contact, Invoice
from qbo_sync.models import EntityLink, HistoricalRun, SyncJob
from qbo_sync.sync import history

from ..support import contact, invoice, workspaces


@pytest.fixture
def books(qbo_connection: Any) -> dict[str, Any]:
    """Two US contacts with invoices (one draft) and one UK contact."""
    us, uk = workspaces()
    a, b = contact(us, "Ann Able"), contact(us, "Bob Baker")
    contact(uk, "Ulla UK")
    return {
        "contacts": (a, b),
        "late": invoice(a, "INV-3", date(2026, 3, 1)),
        "early": invoice(b, "INV-1", date(2025, 11, 1)),
        "middle": invoice(a, "INV-2", date(2026, 1, 15)),
        "draft": invoice(b, "INV-4", date(2026, 2, 1), status=Invoice.Status.DRAFT),
        "conn": qbo_connection,
    }


def _jobs(model: Any) -> list[SyncJob]:
    ct = ContentType.objects.get_for_model(model)
    return list(SyncJob.objects.filter(content_type=ct).order_by("pk"))


def _clear() -> None:
    # Other receivers may already have queued jobs on save; start from none.
    SyncJob.objects.all().delete()


def test_contacts_of_the_workspace_only(books: dict) -> None:
    _clear()
    run = history.start_historical(books["conn"], kind="contacts", dry_run=True)
    assert (run.status, run.total, run.queued, run.done) == ("done", 2, 2, 2)
    assert not SyncJob.objects.exists()  # a dry run writes nothing
    run = HistoricalRun.objects.create(connection=books["conn"], kind="contact")
    history.run_history(run)
    jobs = _jobs(Contact)
    assert sorted(j.object_id for j in jobs) == sorted(str(c.pk) for c in books["contacts"])
    assert {j.workspace for j in jobs} == {"default"} and run.queued == 2


def test_invoices_oldest_first_skipping_drafts_and_old(books: dict) -> None:
    _clear()
    run = HistoricalRun.objects.create(connection=books["conn"], kind="invoice")
    history.run_history(run)
    assert [j.object_id for j in _jobs(Invoice)] == [
        str(books[k].pk) for k in ("early", "middle", "late")]  # chronological (§5.2)
    assert (run.total, run.queued, run.skipped) == (4, 3, 1)
    _clear()
    run = HistoricalRun.objects.create(connection=books["conn"], kind="invoice",
                                       since=date(2026, 1, 1))
    history.run_history(run)
    assert [j.object_id for j in _jobs(Invoice)] == [str(books["middle"].pk),
                                                     str(books["late"].pk)]
    assert (run.total, run.queued, run.skipped) == (3, 2, 1)


def test_already_linked_objects_are_skipped(books: dict) -> None:
    _clear()
    first = books["contacts"][0]
    EntityLink.objects.create(connection=books["conn"], qbo_type="Customer", qbo_id="58",
                              content_type=ContentType.objects.get_for_model(Contact),
                              object_id=str(first.pk))
    run = history.sync_history("default", "contacts")
    assert (run["total"], run["queued"], run["skipped"]) == (2, 1, 1)
    assert [j.object_id for j in _jobs(Contact)] == [str(books["contacts"][1].pk)]


def test_real_run_is_queued_on_commit_and_runs(books: dict, monkeypatch: Any,
                                               django_capture_on_commit_callbacks: Any) -> None:
    _clear()
    monkeypatch.setattr("qbo_sync.sync.outbox.dispatch", lambda job_id: None)  # no pushing here
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = history.start_historical(books["conn"], kind="invoice", since=date(2026, 1, 1))
        assert run.status == "queued"
        with pytest.raises(history.HistoryBusy):
            history.start_historical(books["conn"], kind="invoices")
    assert callbacks
    run.refresh_from_db()
    assert (run.status, run.queued, run.percent) == ("done", 2, 100)
    assert run.finished_at is not None


def test_progress_is_saved_every_fifty(qbo_connection: Any) -> None:
    us, _ = workspaces()
    Contact.objects.bulk_create(
        [Contact(workspace=us, display_name=f"Person {i:03d}") for i in range(120)])
    seen: list[tuple[int, int]] = []

    def progress(run: HistoricalRun) -> None:
        stored = HistoricalRun.objects.get(pk=run.pk)
        seen.append((stored.done, stored.total))

    run = HistoricalRun.objects.create(connection=qbo_connection, kind="contact", dry_run=True)
    history.run_history(run, progress=progress)
    assert seen == [(0, 120), (50, 120), (100, 120), (120, 120)]


def test_failure_is_recorded_with_the_fix(qbo_connection: Any, settings: Any) -> None:
    settings.QBO_SYNC = {**settings.QBO_SYNC, "ADAPTERS": {}}
    run = HistoricalRun.objects.create(connection=qbo_connection, kind="contact")
    history.run_history(run)
    run.refresh_from_db()
    assert run.status == "failed" and "QBO_SYNC['ADAPTERS']" in run.error


def test_unknown_kind() -> None:
    with pytest.raises(history.ConfigurationError) as err:
        history.normalize_kind("payments")
    assert "'contacts'" in err.value.fix
    assert history.normalize_kind("Invoices") == "invoice"


def test_invoice_history_also_queues_its_app_payments(books: dict) -> None:
    from decimal import Decimal

    from example_project.billing.models import Payment

    paid = books["middle"]
    paid.record_payment(Decimal("10.00"), date=date(2026, 1, 20), method="card")
    Payment.objects.create(invoice=paid, amount=Decimal("5.00"), date=date(2026, 1, 21),
                           source=Payment.Source.QUICKBOOKS, external_ref="77")
    books["early"].void()
    _clear()
    run = HistoricalRun.objects.create(connection=books["conn"], kind="invoice")
    history.run_history(run)
    payments = _jobs(Payment)
    # The app's payment is queued; the one that came from QuickBooks is not echoed back.
    assert [p.object_id for p in payments] == [
        str(p.pk) for p in paid.payments.filter(source=Payment.Source.APP)
    ]
    # A voided invoice that never reached QuickBooks is not queued.
    assert str(books["early"].pk) not in {j.object_id for j in _jobs(Invoice)}


def test_a_dry_run_does_not_query_per_invoice(books: dict) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    a = books["contacts"][0]
    for n in range(40):
        invoice(a, f"BULK-{n}", date(2026, 2, 1))
    run = HistoricalRun.objects.create(connection=books["conn"], kind="invoice", dry_run=True)
    with CaptureQueriesContext(connection) as ctx:
        history.run_history(run)
    assert run.total >= 43
    # A fixed handful (candidates, chunks, progress saves), not one or more per invoice.
    assert len(ctx.captured_queries) < 20, [q["sql"][:80] for q in ctx.captured_queries]


def test_a_real_run_writes_its_jobs_in_bulk(qbo_connection: Any, monkeypatch: Any,
                                            django_capture_on_commit_callbacks: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from qbo_sync.sync import outbox

    us, _ = workspaces()
    Contact.objects.bulk_create(
        [Contact(workspace=us, display_name=f"Person {i:03d}") for i in range(300)])
    _clear()
    dispatched: list[int] = []
    monkeypatch.setattr(outbox, "dispatch_many", lambda ids, drain=False: dispatched.extend(ids))
    # One contact already has a waiting job: it carries the change, no second job.
    first = Contact.objects.filter(workspace=us).order_by("pk").first()
    outbox.enqueue("contact", first, connection=qbo_connection)
    run = HistoricalRun.objects.create(connection=qbo_connection, kind="contact")
    with CaptureQueriesContext(connection) as ctx, \
            django_capture_on_commit_callbacks(execute=True):
        history.run_history(run)
    assert (run.status, run.queued) == (HistoricalRun.Status.DONE, 300)
    assert SyncJob.objects.filter(entity="contact").count() == 300
    assert len(set(dispatched)) == 299  # the new ones, after their commit
    inserts = [q for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
    # One bulk insert for 299 jobs, which SQLite splits by its parameter limit; the
    # per-object path wrote 299.
    assert len(inserts) <= 10
    assert len(ctx.captured_queries) < 30, len(ctx.captured_queries)
