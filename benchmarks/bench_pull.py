"""Pull benchmark: QBO calls per catch-up cycle for N open linked invoices, and the time
from a payment recorded in QuickBooks to the host invoice being paid via a webhook.

    .venv/bin/python -m benchmarks.bench_pull [--sizes 10 100 1000] [--latency 0.05]

Runs against the simulator over real HTTP (a local threaded server) and a throwaway
test database; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any


def _setup_django() -> None:
    os.environ.setdefault("QBO_Q_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    import django

    django.setup()


@contextmanager
def simulated(latency: float = 0.0) -> Iterator[tuple[Any, str, str]]:
    """A throwaway test database and the simulator over real HTTP, with QBO_SYNC
    pointed at it: yields (simulator, its URL, the database's name)."""
    from django.db import connection
    from django.test import override_settings
    from django.test.utils import setup_test_environment

    from qbo_sync.conf import app_settings
    from qbo_sync.testing.simulator import Simulator
    from qbo_sync.testing.simulator.server import serve_in_thread

    setup_test_environment()
    db_name = connection.creation.create_test_db(verbosity=0)
    sim = Simulator(latency=latency, webhook_interval=None)
    server, base_url = serve_in_thread(sim, port=0)
    try:
        with override_settings(QBO_SYNC={**app_settings.user_settings,
                                         "ENVIRONMENT": "simulator",
                                         "SIMULATOR_URL": base_url}):
            yield sim, base_url, db_name
    finally:
        server.shutdown()
        server.server_close()
        sim.close()
        connection.creation.destroy_test_db(db_name, verbosity=0)


def _connection(sim, realm: str):
    from django.utils import timezone

    from qbo_sync.models import KEY_CANARY, Connection

    Connection.objects.filter(workspace="default").delete()
    tokens = sim.identity.issue_tokens(realm)
    now = timezone.now()
    return Connection.objects.create(
        workspace="default", realm_id=realm, environment="simulator",
        status=Connection.Status.CONNECTED, access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"], key_canary=KEY_CANARY,
        access_token_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
        refresh_token_expires_at=now + timedelta(days=100), connected_at=now,
    )


class World:
    """One company and workspace; open linked invoices are added as sizes grow."""

    def __init__(self, sim) -> None:
        from example_project.billing.models import Contact, Workspace
        from qbo_sync.connection.clients import client_for
        from qbo_sync.testing.simulator.companies import US_REALM

        self.sim = sim
        workspace = Workspace.objects.create(name="Bench", slug="default", country="US",
                                             home_currency="USD")
        self.contact = Contact.objects.create(workspace=workspace, display_name="Bench Co",
                                              country="US", currency="USD")
        self.conn = _connection(sim, US_REALM)
        with client_for(self.conn) as client:
            self.customer = client.create("Customer", {"DisplayName": "Bench Co"})["Id"]
        self.open = 0

    def grow_to(self, size: int) -> None:
        from tests.pull.support import many_linked_invoices

        if size > self.open:
            self.sim.clock.advance(-3600)  # the open invoices were last changed earlier
            many_linked_invoices(self.conn, self.contact, self.customer, size - self.open)
            self.sim.clock.advance(3600)
            self.open = size

    def one_to_pay(self):
        from tests.pull.support import linked_invoice

        return linked_invoice(self.conn, self.contact, self.customer)


def calls_per_cycle(world: World, size: int) -> tuple[int, float]:
    from qbo_sync.pull.cycle import pull_connection
    from qbo_sync.testing.simulator.companies import US_REALM

    sim, conn = world.sim, world.conn
    world.grow_to(size)
    invoice, qbo = world.one_to_pay()
    pull_connection(conn.pk)  # first cycle sets the cursor
    sim.accountant.record_payment(US_REALM, qbo["Id"], Decimal("100.00"))
    sim.clear_log()
    started = time.perf_counter()
    pull_connection(conn.pk)
    elapsed = time.perf_counter() - started
    invoice.refresh_from_db()
    assert invoice.status == "paid", "the cycle did not mark the invoice paid"
    return sum(1 for r in sim.requests_log if r.realm == US_REALM), elapsed


def run_queued(queued: list[tuple[str, tuple]]) -> None:
    """Run what the view queued (``qbo_sync.tasks.<name>``), as a worker would."""
    from qbo_sync import tasks

    while queued:
        func, args = queued.pop(0)
        getattr(tasks, func.rsplit(".", 1)[-1])(*args)


def webhook_latency(world: World, rounds: int) -> tuple[list[float], list[float]]:
    """(ack times, payment-to-paid times) for ``rounds`` webhook deliveries."""
    from unittest import mock

    from django.test import Client, override_settings
    from django.urls import reverse

    from qbo_sync.conf import app_settings
    from qbo_sync.testing.simulator.companies import US_REALM

    sim = world.sim
    client, url, acks, totals = Client(), reverse("qbo_sync:webhooks"), [], []
    queued: list[tuple[str, tuple]] = []

    def sink(body: bytes, headers: dict) -> int:
        started = time.perf_counter()
        resp = client.post(url, data=body, content_type=headers["Content-Type"],
                           headers={"intuit-signature": headers["intuit-signature"]})
        acks.append(time.perf_counter() - started)
        return resp.status_code

    settings = {**app_settings.user_settings, "WEBHOOKS_ENABLED": True,
                "WEBHOOK_VERIFIER_TOKEN": sim.webhooks.verifier}
    # The view's queueing is captured, and the worker's part run right after, so the
    # ack time is the view alone (no inline django-q2 processing in it).
    with override_settings(QBO_SYNC=settings), \
            mock.patch("qbo_sync.pull.webhooks.queue_task",
                       lambda func, *args, **kw: queued.append((func, args)) or True):
        sim.set_webhook(sink=sink, interval=None)
        for _ in range(rounds):
            invoice, qbo = world.one_to_pay()
            sim.webhooks.flush()
            run_queued(queued)
            started = time.perf_counter()
            sim.accountant.record_payment(US_REALM, qbo["Id"], Decimal("100.00"))
            sim.webhooks.flush()  # QBO sends; the view stores and acknowledges
            run_queued(queued)  # the worker's part
            invoice.refresh_from_db()
            assert invoice.status == "paid", "the webhook did not mark the invoice paid"
            totals.append(time.perf_counter() - started)
    return acks, totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--latency", type=float, default=0.0,
                        help="simulated QBO latency per call, seconds")
    parser.add_argument("--rounds", type=int, default=10, help="webhook rounds")
    args = parser.parse_args()

    _setup_django()
    with simulated(args.latency) as (sim, base_url, db_name):
        print(f"QBO simulator at {base_url}, latency {args.latency}s, db {db_name}")
        print(f"{'open invoices':>14} {'API calls/cycle':>16} {'cycle time':>11}")
        world = World(sim)
        for size in sorted(args.sizes):
            calls, elapsed = calls_per_cycle(world, size)
            print(f"{size:>14} {calls:>16} {elapsed * 1000:>9.1f}ms")
        acks, totals = webhook_latency(world, args.rounds)
        print(f"webhook ack (view):      median {statistics.median(acks) * 1000:.1f}ms, "
              f"max {max(acks) * 1000:.1f}ms (QBO allows 3000ms)")
        print(f"payment → invoice paid:  median {statistics.median(totals) * 1000:.1f}ms, "
              f"max {max(totals) * 1000:.1f}ms over {len(totals)} webhooks "
              "(plus QBO's own delivery delay and the queue's pickup time)")


if __name__ == "__main__":
    main()
