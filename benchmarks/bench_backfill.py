"""Backfill benchmark: 200 contacts and 1,000 sent invoices pushed by real ``qcluster``
workers to the simulator with QBO's throttles on and latency on every call.

    .venv/bin/python -m benchmarks.bench_backfill [--workers 1 2 4] [--contacts 200]
        [--invoices 1000] [--latency 0.15] [--stack sqlite|postgres] [--max-wait S]
        [--shared-budget]

For each worker count, a fresh stack: a database (a SQLite file and django-q2's ORM
broker, or with ``--stack postgres`` the PostgreSQL database ``qbo_backfill`` and a
Redis of the run's own), the QBO simulator over real HTTP (500 requests and 40
``/batch`` calls a minute per company, 10 in flight, ``--latency`` seconds per call),
and one cluster of that many workers. The records are written with qbo_sync's
receivers muted, then their pushes are queued at once, as a historical sync does
(``outbox.enqueue_many``); the clock runs from that moment until no job is pending or
running. Every minute the harness sweeps, as the scheduled ``qbo_sync.sweep`` would.
``--shared-budget`` keeps the workers' minute budgets in a Redis of the run's own
(``RATE_LIMIT_STORAGE``) on the default stack too, where each worker process otherwise
counts alone (``memory://``).

Printed per run: wall time; QBO calls by kind and 429s; local CPU per entity (the
cluster's processes, measured with ``getrusage`` once they have exited, their start
included; and, from /proc, what they used from the clock's start on, the start left
out; the simulator runs in this process and is not counted); and the ratio to the
batch-bound limit, ceil(entities / 30) ``/batch`` calls at 40 a minute.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BATCH_ITEMS, BATCHES_PER_MINUTE = 30, 40  # docs/qbo-rules.md §3
LINES = [
    {"category": "design", "description": "Logo design", "quantity": Decimal("3"),
     "unit_price": Decimal("120.00"), "tax_rate": Decimal("0")},
    {"category": "development", "description": "Website build", "quantity": Decimal("10.5"),
     "unit_price": Decimal("95.00"), "tax_rate": Decimal("8.25")},
]


def _group_cpu(pgid: int) -> float:
    """CPU seconds of the live processes of a process group (Linux /proc)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # proc(5): state, ppid, pgrp, …, utime, stime
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start(args: argparse.Namespace, run_one: Any) -> str | None:
    """From the project's root: with ``--one``, the run itself (its result printed as
    JSON), and None; else the commit to print with the conditions."""
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    if args.one:
        print(json.dumps(run_one(args)))
        return None
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=ROOT).stdout.strip()


def stop_cluster(cluster: subprocess.Popen, cpu_before: float) -> float:
    """Stop the cluster; the CPU seconds it used: the larger of the live count (every
    process of the cluster, before it stops) and what the exited processes were
    charged since ``cpu_before`` (:func:`_children_cpu`)."""
    live_cpu = _group_cpu(cluster.pid)
    os.killpg(cluster.pid, signal.SIGTERM)
    try:
        cluster.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()
    return max(live_cpu, _children_cpu() - cpu_before)


def one(args: argparse.Namespace) -> dict:
    """One run in this process (started by :func:`main` with ``--one``)."""
    import secrets

    from cryptography.fernet import Fernet

    from benchmarks.chaos import RedisServer, _free_port, _postgres_database

    workdir = Path(tempfile.mkdtemp(prefix="qbo-backfill-"))
    env = {"DJANGO_SETTINGS_MODULE": "benchmarks.backfill_settings",
           "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
           "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "QBO_VAR_DIR": str(workdir), "QBO_Q_LOG_LEVEL": "ERROR",
           "BACKFILL_WORKERS": str(args.one), "OAUTHLIB_INSECURE_TRANSPORT": "1"}
    if args.max_wait is not None:
        env["BACKFILL_MAX_WAIT"] = str(args.max_wait)
    redis = None
    if args.stack == "postgres" or args.shared_budget:
        redis = RedisServer(workdir)
        redis.start()
    if args.shared_budget:
        env["BACKFILL_BUDGET_STORAGE"] = f"redis://127.0.0.1:{redis.port}/2"
    if args.stack == "postgres":
        _postgres_database("qbo_backfill")
        env.update(QBO_DB="postgres", PGDATABASE="qbo_backfill", QBO_BROKER="redis",
                   REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
                   REDIS_CACHE_URL=f"redis://127.0.0.1:{redis.port}/1")
    else:
        env["QBO_SQLITE"] = str(workdir / "backfill.sqlite3")
    port = _free_port()
    env["QBO_SIMULATOR_URL"] = f"http://127.0.0.1:{port}"
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        return _measure(args, port, workdir)
    finally:
        if redis is not None:
            redis.kill()


def _measure(args: argparse.Namespace, port: int, workdir: Path) -> dict:
    from django.db import transaction

    from example_project.billing.models import Contact, Invoice, InvoiceLine, Workspace
    from example_project.demo import choose_settings
    from qbo_sync import receivers
    from qbo_sync.models import SyncJob
    from qbo_sync.sync import outbox
    from qbo_sync.testing.connections import connect_to_simulator
    from qbo_sync.testing.simulator import Simulator
    from qbo_sync.testing.simulator.companies import US_REALM
    from qbo_sync.testing.simulator.server import serve_in_thread

    sim = Simulator(latency=args.latency, webhook_interval=None)  # QBO's limits: on
    server, _ = serve_in_thread(sim, port=port)
    workspace = Workspace.objects.create(name="Backfill Co", slug="default", country="US",
                                         home_currency="USD")
    conn = connect_to_simulator(sim, US_REALM, workspace="default")
    choose_settings(conn)
    with receivers.muted(), transaction.atomic():
        contacts = [Contact.objects.create(workspace=workspace,
                                           display_name=f"Customer {n:04d} LLC",
                                           email=f"ap{n}@customer.example", currency="USD")
                    for n in range(args.contacts)]
        invoices = []
        for n in range(args.invoices):
            invoice = Invoice.objects.create(
                workspace=workspace, contact=contacts[n % len(contacts)],
                number=f"INV-{n:05d}", currency="USD", status=Invoice.Status.SENT)
            InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, position=i, **line)
                                             for i, line in enumerate(LINES)])
            invoices.append(invoice)
    sim.clear_log()
    log = (workdir / "qcluster.log").open("ab")
    cpu_before = _children_cpu()
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    time.sleep(3)  # the cluster is up and polling before the clock starts
    booted = _group_cpu(cluster.pid)  # what starting its processes cost
    load_before = os.getloadavg()
    started = time.monotonic()
    with transaction.atomic():
        outbox.enqueue_many("contact", contacts, connection=conn)
        outbox.enqueue_many("invoice", invoices, connection=conn)
    queued = time.monotonic() - started
    entities = args.contacts + args.invoices
    next_sweep = started + 60
    deadline = started + args.timeout
    busy = entities
    while time.monotonic() < deadline:
        busy = SyncJob.objects.filter(status__in=["pending", "running"]).count()
        if not busy:
            break
        if time.monotonic() >= next_sweep:
            outbox.sweep()  # the scheduled sweep's tick
            next_sweep += 60
        time.sleep(0.25)
    wall = time.monotonic() - started
    load_after = os.getloadavg()
    during = _group_cpu(cluster.pid) - booted
    cpu = stop_cluster(cluster, cpu_before)
    calls = [r for r in sim.requests_log if r.realm is not None]
    kinds = Counter(r.path.split("/")[4] if len(r.path.split("/")) > 4 else r.path
                    for r in calls)
    statuses = Counter(SyncJob.objects.values_list("status", flat=True))
    server.shutdown()
    server.server_close()
    sim.close()
    bound = math.ceil(entities / BATCH_ITEMS) / BATCHES_PER_MINUTE * 60
    return {
        "workers": args.one, "stack": args.stack, "entities": entities,
        "wall_s": round(wall, 1), "queued_s": round(queued, 1), "left_busy": busy,
        "calls": len(calls), "calls_by_kind": dict(kinds.most_common()),
        "http_429": sum(1 for r in calls if r.status == 429),
        "cpu_ms_per_entity": round(cpu * 1000 / entities, 1),
        "run_cpu_ms_per_entity": round(during * 1000 / entities, 1),
        "batch_bound_s": round(bound, 1), "ratio": round(wall / bound, 2),
        "call_target": math.ceil(1.05 * math.ceil(entities / BATCH_ITEMS) + 10),
        "statuses": dict(statuses), "load": [round(x, 2) for x in (*load_before,
                                                                    *load_after)],
        "simulator_errors": len(sim.errors),
        # Time the simulator took per /batch call (latency included): the share of the
        # wall time spent on the QuickBooks side.
        "sim_batch_s": round(statistics.median([r.duration for r in calls
                                                if r.path.endswith("/batch")] or [0]), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--stack", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--max-wait", type=float, default=None,
                        help="RATE_LIMIT_MAX_WAIT for the workers (default: the product's)")
    parser.add_argument("--shared-budget", action="store_true",
                        help="the minute budgets in a Redis the workers share")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    commit = start(args, one)
    if commit is None:
        return
    print(f"backfill: {args.contacts} contacts + {args.invoices} sent invoices, "
          f"{args.latency:.2f} s latency per call, QBO's throttles on, {args.stack} stack, "
          f"RATE_LIMIT_MAX_WAIT {args.max_wait if args.max_wait is not None else 'default'}, "
          f"budget {'shared' if args.shared_budget or args.stack == 'postgres' else 'default'}; "
          f"commit {commit}, {os.cpu_count()} cores", flush=True)
    for workers in args.workers:
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_backfill",
                              "--one", str(workers), "--contacts", str(args.contacts),
                              "--invoices", str(args.invoices), "--latency",
                              str(args.latency), "--stack", args.stack, "--timeout",
                              str(args.timeout),
                              *(["--max-wait", str(args.max_wait)] if args.max_wait is not None
                                else []),
                              *(["--shared-budget"] if args.shared_budget else [])],
                             capture_output=True, text=True, cwd=ROOT)
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        if out.returncode or not lines:
            print(f"  {workers} workers: run failed\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
            continue
        r = json.loads(lines[-1])
        print(f"  {workers} worker(s): {r['wall_s']:.1f} s wall "
              f"({r['ratio']:.2f}× the batch-bound {r['batch_bound_s']:.0f} s; queueing "
              f"{r['queued_s']:.1f} s), {r['calls']} QBO calls (target ≤ {r['call_target']}), "
              f"{r['http_429']} 429s, {r['cpu_ms_per_entity']:.1f} ms local CPU per entity "
              f"({r['run_cpu_ms_per_entity']:.1f} ms from the clock's start, without "
              f"starting the cluster's processes)")
        print(f"      calls by kind: {r['calls_by_kind']}; jobs: {r['statuses']}; "
              f"the simulator's median time per /batch call {r['sim_batch_s']:.2f} s; "
              f"load 1/5/15 min before {r['load'][:3]}, after {r['load'][3:]}", flush=True)


if __name__ == "__main__":
    main()
