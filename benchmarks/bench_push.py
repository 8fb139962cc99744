"""Push benchmark: what sending an invoice costs the host's save, and how many invoices a
worker pushes per second against the simulator.

    .venv/bin/python -m benchmarks.bench_push [--saves 200] [--invoices 100] [--http]

1. Save cost: ``Invoice.send()`` (draft → sent) with qbo_sync's receivers connected
   (a SyncJob insert plus the broker enqueue on commit, django-q2's ORM broker, no QBO
   call) and with them disconnected: mean µs per save and queries per save.
2. Push throughput: N sent invoices pushed by ``engine.run_job`` one after another
   against the in-process simulator (and with ``--http`` over its real HTTP server).

Uses a throwaway SQLite file and the simulator; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any


def _setup_django(db_file: str) -> None:
    os.environ.setdefault("QBO_Q_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ["QBO_SQLITE"] = db_file
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@contextmanager
def _simulated(base_url: str | None = None):
    """A fresh simulator: in-process (patched into requests) or over real HTTP."""
    from django.conf import settings
    from django.test import override_settings

    from qbo_sync.testing.simulator import Simulator
    from qbo_sync.testing.simulator.server import serve_in_thread
    from qbo_sync.testing.simulator.transport import patch_requests

    sim = Simulator()
    with ExitStack() as stack:
        if base_url is None:
            base_url = "http://qbo-simulator.bench"
            stack.enter_context(patch_requests(sim, base_url=base_url))
        else:
            server, base_url = serve_in_thread(sim, port=0)
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
        stack.callback(sim.close)
        stack.enter_context(override_settings(QBO_SYNC={
            **settings.QBO_SYNC, "ENVIRONMENT": "simulator", "SIMULATOR_URL": base_url}))
        yield sim


def _world(sim: Any, slug: str) -> tuple[Any, Any]:
    """A workspace connected to the simulator's US company, and one linked contact."""
    from django.utils import timezone

    from example_project.billing.models import Contact, Workspace
    from qbo_sync.models import KEY_CANARY, Connection
    from qbo_sync.testing.simulator.companies import US_REALM

    Connection.objects.filter(workspace=slug).delete()
    # One company per workspace (a database constraint): earlier worlds let it go.
    Connection.objects.filter(realm_id=US_REALM).update(status=Connection.Status.DISCONNECTED)
    tokens = sim.identity.issue_tokens(US_REALM)
    now = timezone.now()
    items = {i["Name"]: i["Id"] for i in sim.store.all(US_REALM, "Item")}
    deposit = next(a["Id"] for a in sim.store.all(US_REALM, "Account")
                   if a.get("AccountSubType") == "UndepositedFunds")
    Connection.objects.create(
        workspace=slug, realm_id=US_REALM, environment="simulator",
        status=Connection.Status.CONNECTED, access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"], key_canary=KEY_CANARY,
        access_token_expires_at=now + timedelta(hours=1),
        refresh_token_expires_at=now + timedelta(days=100),
        connected_at=now - timedelta(days=1), default_item_id=items["Services"],
        default_deposit_account_id=deposit,
    )
    workspace = Workspace.objects.create(name=slug, slug=slug, country="US",
                                         home_currency="USD")
    contact = Contact.objects.create(workspace=workspace, display_name=f"{slug} customer",
                                     email="ap@bench.example", currency="USD")
    return workspace, contact


def _draft(contact: Any, number: str) -> Any:
    from django.db import transaction

    from example_project.billing.models import Invoice, InvoiceLine
    from qbo_sync import receivers

    with receivers.muted(), transaction.atomic():
        invoice = Invoice.objects.create(workspace=contact.workspace, contact=contact,
                                         number=number, currency="USD")
        InvoiceLine.objects.create(invoice=invoice, description="Work",
                                   quantity=Decimal("2"), unit_price=Decimal("150.00"))
    return invoice


def _set_receivers(connected: bool) -> None:
    from django.apps import apps
    from django.db.models.signals import post_init, post_save

    from qbo_sync import receivers
    from qbo_sync.adapters import KINDS, get_adapter

    if connected:
        receivers.connect()
        return
    for kind in KINDS:
        adapter = get_adapter(kind)
        model = apps.get_model(adapter.model)
        post_init.disconnect(sender=model, dispatch_uid=f"qbo_sync.snapshot.{kind}")
        post_save.disconnect(sender=model, dispatch_uid=f"qbo_sync.saved.{kind}")


def bench_save(saves: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_q.conf import Conf

    Conf.SYNC = False  # the broker enqueue is part of the real cost; no inline push
    print(f"1. Host save cost: Invoice.send() × {saves} (SQLite file, ORM broker)")
    with _simulated() as sim:
        for connected in (False, True):
            _set_receivers(connected)
            _, contact = _world(sim, f"save-{int(connected)}")
            drafts = [_draft(contact, f"S{int(connected)}-{n:05d}") for n in range(saves)]
            timings, queries = [], []
            for invoice in drafts:
                with CaptureQueriesContext(connection) as captured:
                    start = time.perf_counter()
                    invoice.send()
                    timings.append(time.perf_counter() - start)
                queries.append(len(captured.captured_queries))
            label = "receivers connected   " if connected else "receivers disconnected"
            print(f"   {label}: {statistics.mean(timings) * 1e6:8.0f} µs/save "
                  f"(median {statistics.median(timings) * 1e6:.0f}), "
                  f"{statistics.mean(queries):.1f} queries/save")
    _set_receivers(True)


def bench_push(invoices: int, *, http: bool) -> None:
    from django_q.conf import Conf

    from qbo_sync.sync import engine, outbox

    Conf.SYNC = False
    where = "real HTTP server" if http else "in-process"
    with _simulated("http" if http else None) as sim:
        slug = f"push-{'http' if http else 'mem'}"
        _, contact = _world(sim, slug)
        drafts = [_draft(contact, f"P{int(http)}-{n:05d}") for n in range(invoices)]
        queued: list[int] = []
        real_dispatch = outbox.dispatch
        outbox.dispatch = queued.append  # collect; the loop below is the worker
        try:
            for invoice in drafts:
                invoice.send()
            with_contact = [*dict.fromkeys(queued)]
        finally:
            outbox.dispatch = real_dispatch
        start = time.perf_counter()
        statuses = [engine.run_job(job_id) for job_id in with_contact]
        elapsed = time.perf_counter() - start
        done = statuses.count("succeeded")
        calls = len([r for r in sim.requests_log if r.realm])
        print(f"2. Push throughput ({where}): {done}/{len(with_contact)} jobs succeeded "
              f"({invoices} invoices + their customer) in {elapsed:.2f} s = "
              f"{invoices / elapsed:.1f} invoices/s, {calls} QBO calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=200)
    parser.add_argument("--invoices", type=int, default=100)
    parser.add_argument("--http", action="store_true", help="also push over real HTTP")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qbo-bench-") as folder:
        _setup_django(os.path.join(folder, "bench.sqlite3"))
        bench_save(args.saves)
        bench_push(args.invoices, http=False)
        if args.http:
            bench_push(args.invoices, http=True)


if __name__ == "__main__":
    main()
