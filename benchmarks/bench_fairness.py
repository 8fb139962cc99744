"""Fairness benchmark: ``--realms`` companies backfilling at once through one real
``qcluster``, and one more company sending invoices one at a time meanwhile.

    .venv/bin/python -m benchmarks.bench_fairness [--realms 10] [--workers 4]
        [--contacts 20] [--invoices 100] [--latency 0.15] [--stack sqlite|postgres]
        [--steady 20] [--steady-every 2.5]

``--realms 0`` measures the steady pushes alone (invoice sent → in QuickBooks, nothing
else queued).

One fresh stack per run, set up by ``bench_backfill``'s ``one()`` (a SQLite file and
django-q2's ORM broker, or with ``--stack postgres`` the PostgreSQL database
``qbo_backfill``, which it drops and creates, and a Redis of the run's own; do not run
both benchmarks on that stack at once). The simulator serves over real HTTP with QBO's
throttles on (500 requests and 40 ``/batch`` calls a minute per company, 10 in flight,
``--latency`` seconds per call) and holds ``--realms`` + 1 US companies, each with a
workspace of the example product and a connection to it. Each backfill company's
contacts and sent invoices are written with qbo_sync's receivers muted; the cluster of
``--workers`` workers starts; then every backfill is queued with
``outbox.enqueue_many``, one transaction per company, one right after the other. From
then on the last company, which has no backfill, sends ``--steady`` invoices one every
``--steady-every`` seconds through ``Invoice.send()`` with the receivers on, as a user
would. The harness sweeps once a minute, as the scheduled ``qbo_sync.sweep`` would. The
clock runs from the first backfill's queueing until every steady invoice is sent and no
job is pending or running.

Printed: the conditions (commit, cores, load average before and after); per company its
jobs, QBO calls, ``/batch`` calls and 429s, the most calls and the most ``/batch`` calls
in any sliding 60 s (every call the app sent, 429s included, against QBO's 500 and 40),
its first and last successful call, when its first and its last job finished, the
longest it waited for its next job to finish, its jobs finished per minute, and whether
the company's books hold its own records only, each once; the steady invoices' latency
from the job's creation to its success (median, p95, max, and the median of those sent
while backfill jobs were still queued); local CPU per entity (the cluster's processes,
as ``bench_backfill`` counts them); and a verdict computed from the above.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks import bench_backfill
from benchmarks.bench_backfill import LINES, _children_cpu, stop_cluster

ROOT = Path(__file__).resolve().parent.parent
WINDOW_S = 60.0  # QBO's minute (docs/qbo-rules.md §3)
PER_MINUTE, BATCHES_PER_MINUTE = 500, 40
STEADY_CONTACTS = 3


def _realm_id(n: int) -> str:
    """Sixteen digits like QBO's, clear of the simulator's default companies."""
    return f"9341453100{n + 1:06d}"


def _slug(n: int, realms: int) -> str:
    return "steady" if n == realms else f"r{n + 1:02d}"


def _max_in_window(times: list[float], span: float = WINDOW_S) -> int:
    """The most events of sorted ``times`` in any window (t - span, t], the window the
    simulator's limiter keeps."""
    best, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - span:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def _p95(values: list[float]) -> float:
    """Nearest rank: defined for any sample size, and never below the median."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


def one(args: argparse.Namespace) -> dict:
    """One run in this process (started by :func:`main` with ``--one``)."""
    # bench_backfill.one builds the stack (environment, database, Redis, migrations),
    # then hands over to its module's ``_measure``: this benchmark's, for this run.
    with mock.patch.object(bench_backfill, "_measure", _measure):
        return bench_backfill.one(args)


def _measure(args: argparse.Namespace, port: int, workdir: Path) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from example_project.billing.models import Contact, Invoice, InvoiceLine, Workspace
    from example_project.demo import choose_settings
    from qbo_sync import receivers
    from qbo_sync.models import SUCCESS_STATUSES, SyncJob
    from qbo_sync.sync import outbox
    from qbo_sync.testing.connections import connect_to_simulator
    from qbo_sync.testing.simulator import Simulator
    from qbo_sync.testing.simulator.server import serve_in_thread

    sim = Simulator(latency=args.latency, webhook_interval=None)  # QBO's limits: on
    server, _ = serve_in_thread(sim, port=port)
    slugs = [_slug(n, args.realms) for n in range(args.realms + 1)]
    realm_of = {slug: _realm_id(n) for n, slug in enumerate(slugs)}
    workspaces, conns = {}, {}
    # Connected yesterday: an invoice issued today is in the steady connection's scope.
    connected_at = timezone.now() - timedelta(days=1)
    for slug in slugs:
        sim.store.add_company({"realm_id": realm_of[slug], "name": f"Fairness {slug} Inc",
                               "country": "US", "multicurrency": False,
                               "home_currency": "USD", "currencies": ["USD"]})
        workspaces[slug] = Workspace.objects.create(name=f"Fairness {slug}", slug=slug,
                                                    country="US", home_currency="USD")
        conns[slug] = connect_to_simulator(sim, realm_of[slug], workspace=slug,
                                           connected_at=connected_at)
        choose_settings(conns[slug])
    steady = slugs[-1]
    backfills: dict[str, tuple[list, list]] = {}
    for slug in slugs[:-1]:
        with receivers.muted(), transaction.atomic():
            contacts = [Contact.objects.create(
                workspace=workspaces[slug], display_name=f"{slug} Customer {n:04d} LLC",
                email=f"ap{n}@{slug}.example", currency="USD") for n in range(args.contacts)]
            invoices = []
            for n in range(args.invoices):
                invoice = Invoice.objects.create(
                    workspace=workspaces[slug], contact=contacts[n % len(contacts)],
                    number=f"{slug}-{n:05d}", currency="USD", status=Invoice.Status.SENT)
                InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, position=i,
                                                             **line)
                                                 for i, line in enumerate(LINES)])
                invoices.append(invoice)
        backfills[slug] = (contacts, invoices)
    # The steady company's customers are saved with the receivers on, so they are in
    # QuickBooks before its first invoice: its latency is the invoice's push alone.
    steady_contacts = [Contact.objects.create(
        workspace=workspaces[steady], display_name=f"{steady} Customer {n:04d} LLC",
        email=f"ap{n}@{steady}.example", currency="USD") for n in range(STEADY_CONTACTS)]
    log = (workdir / "qcluster.log").open("ab")
    cpu_before = _children_cpu()
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    time.sleep(3)  # the cluster is up and polling before the clock starts
    warm_until = time.monotonic() + 60
    while time.monotonic() < warm_until and SyncJob.objects.filter(
            workspace=steady, status__in=["pending", "running"]).exists():
        time.sleep(0.25)
    sim.clear_log()  # what follows is the measured run only
    load_before = os.getloadavg()
    t0 = timezone.now()
    started = time.monotonic()
    for slug, (contacts, invoices) in backfills.items():
        with transaction.atomic():
            outbox.enqueue_many("contact", contacts, connection=conns[slug])
            outbox.enqueue_many("invoice", invoices, connection=conns[slug])
    queued = time.monotonic() - started

    steady_jobs: list[tuple[int, bool]] = []  # (job pk, backfill jobs still queued)
    next_steady = time.monotonic()
    next_sweep = started + 60
    deadline = started + args.timeout
    busy = 1
    while time.monotonic() < deadline:
        if len(steady_jobs) < args.steady and time.monotonic() >= next_steady:
            steady_jobs.append(_send_steady(workspaces[steady], steady_contacts,
                                            len(steady_jobs), slugs[:-1]))
            next_steady += args.steady_every
        busy = SyncJob.objects.filter(status__in=["pending", "running"]).count()
        if not busy and len(steady_jobs) == args.steady:
            break
        if time.monotonic() >= next_sweep:
            outbox.sweep()  # the scheduled sweep's tick
            next_sweep += 60
        time.sleep(0.25)
    wall = time.monotonic() - started
    load_after = os.getloadavg()
    cpu = stop_cluster(cluster, cpu_before)

    def since(moment: datetime) -> float:
        return (moment - t0).total_seconds()

    calls: dict[str, list] = defaultdict(list)
    slug_of = {realm: slug for slug, realm in realm_of.items()}
    for rec in sim.requests_log:
        if rec.realm in slug_of:
            calls[slug_of[rec.realm]].append(rec)
    jobs: dict[str, list[tuple[str, float | None]]] = defaultdict(list)
    kinds: dict[str, Counter] = defaultdict(Counter)
    for slug, status, finished, entity, action, trigger in SyncJob.objects.filter(
            created_at__gte=t0).values_list("workspace", "status", "finished_at", "entity",
                                            "action", "trigger"):
        jobs[slug].append((status, since(finished) if finished else None))
        kinds[slug][f"{entity} {action}" + (f" ({trigger})" if trigger else "")] += 1
    minutes = max(math.ceil(wall / 60), 1)
    expected = {slug: (len(c), len(i)) for slug, (c, i) in backfills.items()}
    expected[steady] = (STEADY_CONTACTS, len(steady_jobs))
    rows = []
    for slug in slugs:
        recs = sorted(calls[slug], key=lambda r: r.time)
        sent = [since(r.time) for r in recs]
        batches = [since(r.time) for r in recs if r.path.split("/")[4:5] == ["batch"]]
        ok = [since(r.time) for r in recs if r.status is not None and 200 <= r.status < 300]
        # Done: written, or nothing to write (a skip); a failed job is not progress.
        done = sorted(t for status, t in jobs[slug] if status in (*SUCCESS_STATUSES,
                                                                  SyncJob.Status.SKIPPED))
        per_minute = Counter(min(int(t // 60), minutes - 1) for t in done)
        rows.append({
            "realm": slug, "jobs": len(jobs[slug]), "done": len(done),
            "statuses": dict(Counter(status for status, _ in jobs[slug])),
            "kinds": dict(kinds[slug]),
            "expected_jobs": sum(expected[slug]) if slug != steady else len(steady_jobs),
            "calls": len(recs), "batch_calls": len(batches),
            "http_429": sum(1 for r in recs if r.status == 429),
            "max_calls_60s": _max_in_window(sent), "max_batch_60s": _max_in_window(batches),
            "first_ok_s": round(ok[0], 1) if ok else None,
            "last_ok_s": round(ok[-1], 1) if ok else None,
            "first_job_s": round(done[0], 1) if done else None,
            "last_job_s": round(done[-1], 1) if done else None,
            "per_minute": [per_minute[m] for m in range(minutes)],
            # The longest time the company waited for its next job to finish, from the
            # first queueing on: a company passed over shows here, even if it started.
            "longest_gap_s": round(max(b - a for a, b in pairwise([0.0, *done])), 1)
            if done else None,
            "own_books": _own_books(sim, realm_of[slug], slug, *expected[slug]),
        })
    latencies, during = [], []
    finished = dict(SyncJob.objects.filter(pk__in=[pk for pk, _ in steady_jobs],
                                           status__in=SUCCESS_STATUSES)
                    .values_list("pk", "finished_at"))
    created = dict(SyncJob.objects.filter(pk__in=[pk for pk, _ in steady_jobs])
                   .values_list("pk", "created_at"))
    for pk, backfilling in steady_jobs:
        if pk in finished:
            latency = (finished[pk] - created[pk]).total_seconds()
            latencies.append(latency)
            if backfilling:
                during.append(latency)
    statuses = Counter(SyncJob.objects.filter(created_at__gte=t0)
                       .values_list("status", flat=True))
    errors = len(sim.errors)
    server.shutdown()
    server.server_close()
    sim.close()
    entities = args.realms * (args.contacts + args.invoices) + args.steady
    return {
        "workers": args.one, "stack": args.stack, "entities": entities,
        "wall_s": round(wall, 1), "queued_s": round(queued, 1), "left_busy": busy,
        "rows": rows, "statuses": dict(statuses), "simulator_errors": errors,
        "steady_sent": len(steady_jobs), "steady_ok": len(latencies),
        "steady_during": len(during),
        "steady_s": [round(x, 2) for x in latencies],
        "steady_during_s": [round(x, 2) for x in during],
        "cpu_ms_per_entity": round(cpu * 1000 / entities, 1),
        "load": [round(x, 2) for x in (*load_before, *load_after)],
    }


def _send_steady(workspace: Any, contacts: list, n: int,
                 backfill_slugs: list[str]) -> tuple[int, bool]:
    """One invoice drafted and sent as a user would (the receivers queue its push);
    returns its job and whether backfill jobs were still queued when it was sent (due
    or deferred, not yet claimed by a worker)."""
    from django.contrib.contenttypes.models import ContentType

    from example_project.billing.models import Invoice, InvoiceLine
    from qbo_sync.models import SyncJob

    invoice = Invoice.objects.create(workspace=workspace, contact=contacts[n % len(contacts)],
                                     number=f"{workspace.slug}-{n:05d}", currency="USD")
    InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, position=i, **line)
                                     for i, line in enumerate(LINES)])
    invoice.send()
    job = SyncJob.objects.filter(content_type=ContentType.objects.get_for_model(Invoice),
                                 object_id=str(invoice.pk)).order_by("pk").first()
    if job is None:
        raise RuntimeError(f"sending {invoice.number} queued no push")
    queued = SyncJob.objects.filter(workspace__in=backfill_slugs, status="pending").exists()
    return job.pk, queued


def _own_books(sim: Any, realm: str, slug: str, contacts: int, invoices: int) -> bool:
    """The company holds exactly its workspace's contacts and invoices: each record went
    to its own workspace's connection, none to another company, none twice."""
    customers = sim.store.all(realm, "Customer")
    return (len(customers) == contacts
            and len(sim.store.all(realm, "Invoice")) == invoices
            and all(c["DisplayName"].startswith(f"{slug} ") for c in customers))


def _backfill_verdict(backfill_rows: list[dict], secs: Any) -> list[str]:
    """Whether every backfilling company progressed, minute by minute, and finished."""
    late = [x for x in backfill_rows if x["first_job_s"] is None or x["first_job_s"] >= 60]
    slowest = max(backfill_rows, key=lambda x: (x["first_job_s"] is None,
                                                x["first_job_s"] or 0))
    unfinished = [x["realm"] for x in backfill_rows if x["done"] < x["jobs"]]
    # A minute with no job done before the company's last one: it was passed over.
    idle = [x["realm"] for x in backfill_rows if x["last_job_s"] is not None
            and 0 in x["per_minute"][:int(x["last_job_s"] // 60) + 1]]
    gap = max(backfill_rows, key=lambda x: x["longest_gap_s"] or 0)
    return [
        "every realm progressed in the first minute: "
        + (f"no ({', '.join(x['realm'] for x in late)})" if late else "yes")
        + f" (slowest first job: {slowest['realm']}, {secs(slowest['first_job_s'])})",
        "every realm progressed in every minute until it finished: "
        + (f"no ({', '.join(idle)})" if idle else "yes")
        + f" (longest wait for a job: {secs(gap['longest_gap_s'])}, {gap['realm']})",
        "every realm finished: " + (f"no ({', '.join(unfinished)})" if unfinished else "yes")
        + f" (the last at {max((x['last_job_s'] or 0) for x in backfill_rows):.1f} s)",
    ]


def _report(r: dict, args: argparse.Namespace) -> None:
    rows = r["rows"]
    backfill_rows = rows[:-1]
    print(f"  {r['workers']} workers: {r['wall_s']:.1f} s wall (queueing "
          f"{r['queued_s']:.1f} s), {sum(x['calls'] for x in rows)} QBO calls, "
          f"{sum(x['http_429'] for x in rows)} 429s, {r['cpu_ms_per_entity']:.1f} ms "
          f"local CPU per entity; jobs: {r['statuses']}; load 1/5/15 min before "
          f"{r['load'][:3]}, after {r['load'][3:]}")
    print(f"  {'realm':<7}{'jobs done':>11}{'calls':>7}{'/batch':>7}{'429s':>6}"
          f"{'max/60s':>9}{'batch/60s':>10}{'1st ok call':>12}{'last ok call':>13}"
          f"{'1st job':>14}{'last job':>10}{'max gap':>9}  own books  jobs done per minute")

    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    for x in rows:
        first = ("-" if x["first_job_s"] is None
                 else f"{x['first_job_s']:.1f} s (m{int(x['first_job_s'] // 60)})")
        print(f"  {x['realm']:<7}{x['done']:>7}/{x['jobs']:<3}{x['calls']:>7}"
              f"{x['batch_calls']:>7}{x['http_429']:>6}{x['max_calls_60s']:>9}"
              f"{x['max_batch_60s']:>10}{secs(x['first_ok_s']):>12}"
              f"{secs(x['last_ok_s']):>13}{first:>14}{secs(x['last_job_s']):>10}"
              f"{secs(x['longest_gap_s']):>9}  "
              f"{'yes' if x['own_books'] else 'NO':<9}  "
              f"{' '.join(str(n) for n in x['per_minute'])}")
    for x in rows:
        # A record with two jobs (an inline dependency's own row), none, or one not done.
        if x["jobs"] != x["expected_jobs"] or x["done"] < x["jobs"]:
            print(f"      {x['realm']}: {x['jobs']} jobs for {x['expected_jobs']} records: "
                  f"{x['kinds']}, {x['statuses']}")
    steady = r["steady_s"]
    if steady:
        during = r["steady_during_s"]
        print(f"  steady pushes: {r['steady_ok']}/{r['steady_sent']} succeeded, one every "
              f"{args.steady_every:g} s; latency from the job's creation to its success: "
              f"median {statistics.median(steady):.2f} s, p95 {_p95(steady):.2f} s, max "
              f"{max(steady):.2f} s; {len(during)} sent while backfill jobs were queued, "
              f"their median {statistics.median(during) if during else float('nan'):.2f} s")
        print(f"      each, in seconds: {' '.join(f'{x:.1f}' for x in steady)}")
    verdict = _backfill_verdict(backfill_rows, secs) if backfill_rows else []
    verdict += [
        f"max calls/60 s per realm: {max(x['max_calls_60s'] for x in rows)} "
        f"(limit {PER_MINUTE})",
        f"max /batch calls/60 s per realm: {max(x['max_batch_60s'] for x in rows)} "
        f"(limit {BATCHES_PER_MINUTE})",
        f"429s: {sum(x['http_429'] for x in rows)}",
        "each company's books hold its own records only: "
        + ("yes" if all(x["own_books"] for x in rows) else "no"),
        "steady-push latency: "
        + (f"median {statistics.median(steady):.2f} s, p95 {_p95(steady):.2f} s"
           if steady else "n/a (none succeeded)"),
    ]
    if r["simulator_errors"]:
        verdict.append(f"simulator errors: {r['simulator_errors']}")
    print("  verdict: " + "\n           ".join(verdict), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realms", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--contacts", type=int, default=20)
    parser.add_argument("--invoices", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.15)
    parser.add_argument("--stack", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--steady", type=int, default=20)
    parser.add_argument("--steady-every", type=float, default=2.5)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    # What bench_backfill's stack setup reads: the product's budget settings as shipped.
    parser.set_defaults(max_wait=None, shared_budget=False)
    args = parser.parse_args()
    commit = bench_backfill.start(args, one)
    if commit is None:
        return
    print(f"fairness: {args.realms} companies backfilling at once, each {args.contacts} "
          f"contacts + {args.invoices} sent invoices, and one more sending {args.steady} "
          f"invoices one every {args.steady_every:g} s; {args.workers} workers, "
          f"{args.latency:.2f} s latency per call, QBO's throttles on, {args.stack} stack; "
          f"commit {commit}, {os.cpu_count()} cores", flush=True)
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_fairness",
                          "--one", str(args.workers), "--realms", str(args.realms),
                          "--contacts", str(args.contacts), "--invoices", str(args.invoices),
                          "--latency", str(args.latency), "--stack", args.stack,
                          "--steady", str(args.steady), "--steady-every",
                          str(args.steady_every), "--timeout", str(args.timeout)],
                         capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        print(f"  run failed\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
        sys.exit(1)
    _report(json.loads(lines[-1]), args)


if __name__ == "__main__":
    main()
