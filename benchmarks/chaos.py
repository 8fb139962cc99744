"""Chaos run: the way production fails, then the books compared record by record.

    .venv/bin/python -m benchmarks.chaos [--invoices 200] [--db sqlite|postgres]
        [--broker orm|redis] [--clusters 2] [--workers-per-cluster 2] [--faults 0.10]

1. A fresh database (a SQLite file, or the PostgreSQL database ``qbo_chaos``), the QBO
   simulator over real HTTP, the example site (for signed webhooks) and ``--clusters``
   django-q2 clusters as separate processes (with ``--broker redis``, on a Redis server
   of the run's own, so restarting it touches nothing else).
2. The example product's workload: contacts, invoices sent, payments on 30 %, edits on
   20 %, voids on 5 %, credit memos and refunds, payments an accountant records in
   QuickBooks (brought back by webhooks and the CDC catch-up).
3. While it runs, ``--faults`` of the Accounting API calls fail, through the simulator's
   control plane: 500s and 503s, timeouts before and after the call ran, answers
   dropped after commit, 429s and expired tokens. One cluster is SIGKILLed mid-run and
   replaced; on Redis, Redis is killed and restarted.
4. Faults off, the run drains (the harness sweeps every few seconds, standing in for
   the scheduler's tick), then the app is reconciled against QuickBooks
   (:mod:`benchmarks.chaos_reconcile`) and the table printed. Exit status 1 if anything
   was duplicated, lost, mismatched, stuck or stranded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The fault mix: kinds and shares of the total rate (they add up to 1).
FAULT_MIX = [
    ({"kind": "error", "status": 500}, 0.2),
    ({"kind": "error", "status": 503}, 0.2),
    ({"kind": "timeout", "hang": 0.5}, 0.1),
    ({"kind": "timeout", "after_execute": True, "hang": 0.5}, 0.15),
    ({"kind": "drop"}, 0.2),
    ({"kind": "throttle"}, 0.1),
    ({"kind": "expire_tokens"}, 0.05),
]


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


_last = {"line": "", "at": 0.0}


def progress(line: str, *, done: bool = False) -> None:
    """One updating line on a terminal; in a log, a line every 10 s at most."""
    if sys.stdout.isatty():
        print(f"\r    {line}   ", end="\n" if done else "", flush=True)
    elif done or (line != _last["line"] and time.monotonic() - _last["at"] >= 10):
        print(f"    {line}", flush=True)
        _last.update(line=line, at=time.monotonic())


# The stack ------------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A Redis of the run's own (no persistence), so killing it harms nothing else."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.dir, self.proc = _free_port(), workdir, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            if subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                              capture_output=True).stdout.strip() == b"PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()


def _postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(host=os.environ.get("PGHOST", "127.0.0.1"), dbname="postgres",
                         user=os.environ.get("PGUSER", "postgres"), autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')


def configure(args: argparse.Namespace, workdir: Path, redis: RedisServer | None) -> None:
    """Environment for this process and the clusters it starts, then ``django.setup()``."""
    import secrets

    from cryptography.fernet import Fernet

    env = {
        "DJANGO_SETTINGS_MODULE": "benchmarks.chaos_settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "QBO_VAR_DIR": str(workdir), "QBO_Q_LOG_LEVEL": "ERROR",
        "CHAOS_WORKERS_PER_CLUSTER": str(args.workers_per_cluster),
    }
    if args.db == "postgres":
        _postgres_database("qbo_chaos")
        env.update(QBO_DB="postgres", PGDATABASE="qbo_chaos")
    else:
        env["QBO_SQLITE"] = str(workdir / "chaos.sqlite3")
    if redis is not None:
        env.update(QBO_BROKER="redis", REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
                   REDIS_CACHE_URL=f"redis://127.0.0.1:{redis.port}/1")
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def start_cluster(log: Path) -> subprocess.Popen:
    # Its own session, so a SIGKILL of the group takes the master and its workers.
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill_cluster(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# The workload ---------------------------------------------------------------------------

LINES = [
    {"category": "design", "description": "Logo design", "quantity": Decimal("3"),
     "unit_price": Decimal("120.00"), "tax_rate": Decimal("0")},
    {"category": "development", "description": "Website build", "quantity": Decimal("10.5"),
     "unit_price": Decimal("95.00"), "tax_rate": Decimal("8.25")},
]


def connect(sim, site_url: str):
    from example_project.billing.models import Workspace
    from example_project.demo import choose_settings
    from qbo_sync.testing.connections import connect_to_simulator
    from qbo_sync.testing.simulator.companies import US_REALM

    workspace = Workspace.objects.create(name="Chaos Co", slug="default", country="US",
                                         home_currency="USD")
    conn = connect_to_simulator(sim, US_REALM, workspace="default")
    choose_settings(conn)
    sim.set_webhook(url=f"{site_url}/qbo/webhooks/", format="cloudevents", interval=0.5)
    return workspace, conn


def make_invoice(contact, number: str, rng: random.Random):
    from django.db import transaction

    from example_project.billing.models import Invoice, InvoiceLine

    with transaction.atomic():
        invoice = Invoice.objects.create(workspace=contact.workspace, contact=contact,
                                         number=number, currency="USD",
                                         memo=f"Thank you ({number})")
        for position, line in enumerate(LINES):
            InvoiceLine.objects.create(invoice=invoice, position=position,
                                       **{**line, "quantity": Decimal(rng.randint(1, 12))})
    invoice.send()
    return invoice


def edit(invoice, rng: random.Random) -> None:
    from django.db import transaction

    with transaction.atomic():
        line = invoice.lines.order_by("position").first()
        line.unit_price += Decimal("5.00")
        line.save()
        invoice.memo = f"Revised terms ({invoice.number})"
        invoice.save()


def documents(contact, n: int) -> None:
    from django.db import transaction

    from example_project.billing.models import CreditMemo, CreditMemoLine, Refund, RefundLine

    with transaction.atomic():
        memo = CreditMemo.objects.create(workspace=contact.workspace, contact=contact,
                                         number=f"CM-{n:05d}", currency="USD")
        CreditMemoLine.objects.create(credit_memo=memo, position=0, category="design",
                                      description="Goodwill credit", quantity=Decimal("1"),
                                      unit_price=Decimal("50.00"))
    with transaction.atomic():
        refund = Refund.objects.create(workspace=contact.workspace, contact=contact,
                                       number=f"RF-{n:05d}", currency="USD")
        RefundLine.objects.create(refund=refund, position=0, category="consulting",
                                  description="Refund of deposit", quantity=Decimal("1"),
                                  unit_price=Decimal("80.00"))


def accountant_payments(sim, conn, invoices) -> int:
    """Pay in QuickBooks those of ``invoices`` that reached it by now."""
    from qbo_sync.sync import links

    paid = 0
    for invoice in invoices:
        link = links.find_link(conn, invoice)
        if link is None or not link.qbo_id:
            continue
        record = sim.store.get(conn.realm_id, "Invoice", link.qbo_id)
        sim.accountant.record_payment(conn.realm_id, link.qbo_id, Decimal(str(record["Balance"])),
                                      method="Check", reference="CHK-1")
        paid += 1
    return paid


# Running it -----------------------------------------------------------------------------


def faults_on(sim, rate: float, seed: int) -> None:
    for i, (rule, share) in enumerate(FAULT_MIX):
        sim.inject(times=None, path=r"^/v3/company/", probability=rate * share,
                   seed=seed + i, **rule)


def sweep() -> None:
    from qbo_sync.pull import webhooks
    from qbo_sync.sync import outbox

    outbox.sweep()
    webhooks.sweep_deliveries()


def drain(sim, conn, deadline: float) -> float:
    """Sweep until no job is pending or running and every delivery is processed; then one
    CDC catch-up, and again. Returns the seconds it took."""
    from qbo_sync.models import SyncJob, WebhookEvent
    from qbo_sync.pull.cycle import pull_connection

    started, quiet, caught_up = time.monotonic(), 0, False
    while time.monotonic() < deadline:
        sweep()
        sim.webhooks.flush()
        busy = SyncJob.objects.filter(status__in=["pending", "running"]).count()
        waiting = WebhookEvent.objects.filter(verified=True, processed=False).count()
        progress(f"draining: {busy} jobs pending or running, {waiting} deliveries waiting")
        quiet = quiet + 1 if busy == waiting == 0 else 0
        if quiet >= 3:
            if caught_up:
                break
            pull_connection(conn.pk, source="chaos")  # the scheduled catch-up
            caught_up, quiet = True, 0
        time.sleep(2)
    progress(f"drained: {busy} jobs pending or running, {waiting} deliveries waiting",
             done=True)
    return time.monotonic() - started


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="qbo-chaos-"))
    redis = RedisServer(workdir) if args.broker == "redis" else None
    if redis is not None:
        redis.start()
    sim_port = _free_port()
    os.environ["QBO_SIMULATOR_URL"] = f"http://127.0.0.1:{sim_port}"
    configure(args, workdir, redis)
    from example_project.billing.models import Contact
    from example_project.demo import start_simulator, start_site
    from qbo_sync.models import SyncJob

    rng = random.Random(args.seed)
    sim, sim_server, sim_url = start_simulator(sim_port, workdir / "simulator.json")
    site_server, site_url = start_site(_free_port())
    say(f"stack: {args.db} + {args.broker} broker, {args.clusters} clusters × "
        f"{args.workers_per_cluster} workers; simulator {sim_url}; {workdir}")
    workspace, conn = connect(sim, site_url)
    logs = workdir / "qcluster.log"
    clusters = [start_cluster(logs) for _ in range(args.clusters)]
    events: list[str] = []
    started = time.monotonic()
    load_before = os.getloadavg()
    try:
        faults_on(sim, args.faults, args.seed)
        say(f"workload: {args.invoices} invoices, faults on {args.faults:.0%} of API calls")
        contacts = [Contact.objects.create(workspace=workspace,
                                           display_name=f"Customer {n:04d} LLC",
                                           email=f"ap{n}@customer.example", currency="USD")
                    for n in range(max(1, args.invoices // 4))]
        invoices = []
        for n in range(args.invoices):
            invoices.append(make_invoice(rng.choice(contacts), f"INV-{n:05d}", rng))
            if n == int(args.invoices * 0.4) and args.kill:
                kill_cluster(clusters[0])
                events.append(f"SIGKILLed cluster 1 after {n} invoices")
                clusters[0] = start_cluster(logs)
            if n == int(args.invoices * 0.7) and redis is not None:
                redis.kill()
                time.sleep(3)
                redis.start()
                events.append(f"killed and restarted Redis after {n} invoices")
            if n % 20 == 0:
                sweep()
                progress(f"{n + 1}/{args.invoices} invoices sent")
        progress(f"{args.invoices}/{args.invoices} invoices sent", done=True)
        order = invoices[:]
        rng.shuffle(order)
        cut = [int(len(order) * f) for f in (0.30, 0.50, 0.55, 0.60)]
        pay, change, void, theirs = (order[:cut[0]], order[cut[0]:cut[1]],
                                     order[cut[1]:cut[2]], order[cut[2]:cut[3]])
        for i, invoice in enumerate(pay):
            invoice.refresh_from_db()
            amount = invoice.total if i % 2 else (invoice.total / 2).quantize(Decimal("0.01"))
            invoice.record_payment(amount, method="check", reference=f"CHK-{i}")
        for invoice in change:
            edit(invoice, rng)
        for invoice in void:
            invoice.void()
        for n, contact in enumerate(contacts[: max(1, len(contacts) // 10)]):
            documents(contact, n)
        say(f"app work queued: {len(pay)} payments, {len(change)} edits, {len(void)} voids, "
            f"{max(1, len(contacts) // 10)} credit memos and refunds")
        deadline = time.monotonic() + args.workload_seconds
        while time.monotonic() < deadline:
            left = SyncJob.objects.filter(status__in=["pending", "running"]).count()
            progress(f"faults on: {left} jobs pending or running")
            if left < len(invoices) // 10:
                break
            sweep()
            time.sleep(2)
        progress(f"faults on: {left} jobs pending or running", done=True)
        events.append(f"accountant paid {accountant_payments(sim, conn, theirs)} invoices "
                      "in QuickBooks")
        sim.clear_faults()
        say("faults off; draining")
        drained = drain(sim, conn, time.monotonic() + args.drain_seconds)
    finally:
        for proc in clusters:
            kill_cluster(proc)
        if redis is not None:
            redis.kill()
    return report(args, sim, conn, events, started, drained, load_before, workdir)


def report(args, sim, conn, events, started, drained, load_before, workdir) -> int:
    from benchmarks.chaos_reconcile import MUST_BE_ZERO, reconcile

    calls = [r for r in sim.requests_log if r.realm is not None]
    faulted = Counter(r.fault for r in calls if r.fault)
    elapsed = time.monotonic() - started
    found = reconcile(sim, conn)
    say("conditions")
    print(f"    {args.db} + {args.broker}, {args.clusters}×{args.workers_per_cluster} workers, "
          f"{args.invoices} invoices, seed {args.seed}; {os.cpu_count()} cores, load "
          f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"    {len(calls)} API calls in {elapsed:.0f}s ({len(calls) / elapsed * 60:.0f}/min), "
          f"{sum(faulted.values())} faulted ({sum(faulted.values()) / max(1, len(calls)):.1%}): "
          + ", ".join(f"{k} {n}" for k, n in sorted(faulted.items())))
    for event in events:
        print(f"    {event}")
    print(f"    drained in {drained:.0f}s")
    say("reconciliation: app ↔ QuickBooks")
    failed = False
    for name in (*MUST_BE_ZERO, "conflicts", "failed"):
        rows = found.get(name, [])
        bad = name in MUST_BE_ZERO and bool(rows)
        failed |= bad
        print(f"    {name:<26} {len(rows):>6}  {'FAIL' if bad else 'ok'}")
        for row in rows[:5]:
            print(f"        {row}")
    reasons = Counter(row.split(": ", 1)[-1][:60] for row in found.get("failed", []))
    for reason, n in reasons.most_common(5):
        print(f"        failed ×{n}: {reason}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "conditions": vars(args), "calls": len(calls), "faulted": dict(faulted),
            "seconds": elapsed, "events": events,
            "found": {k: len(v) for k, v in found.items()}}, indent=2))
    if not failed and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    say("PASS: nothing duplicated, lost, mismatched, stuck or stranded" if not failed
        else f"FAIL (logs and data kept in {workdir})")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--broker", choices=["orm", "redis"], default="orm")
    parser.add_argument("--clusters", type=int, default=2)
    parser.add_argument("--workers-per-cluster", type=int, default=2)
    parser.add_argument("--faults", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-kill", dest="kill", action="store_false")
    parser.add_argument("--workload-seconds", type=float, default=900)
    parser.add_argument("--drain-seconds", type=float, default=900)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
