"""The main job on the embedded default, end to end, with no account anywhere.

1. migrate the SQLite database and seed the example invoicing product;
2. start the QBO simulator and the example site as real HTTP servers on localhost;
3. log in as the workspace admin and connect the ``default`` workspace to the
   simulator's US company through the real OAuth redirect flow (connect → consent
   page → callback), exactly as a browser would;
4. choose the settings from the lists loaded live from QBO (default item, deposit
   account, item and tax mappings), and import the company's existing customers
   (``demo_customers``);
5. start a real django-q2 cluster on the ORM broker and push the recent history
   (invoices since ``--since-days`` ago, their customers and payments) through it;
6. record payments in QBO as an accountant would, and watch them come back through
   signed webhooks (and the CDC catch-up) as paid invoices;
7. print what happened at each step.

Run it with ``bin/demo`` (which prepares the virtualenv first).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
from html import unescape
from pathlib import Path
from socketserver import ThreadingMixIn
from urllib.parse import urljoin
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def demo_keys() -> None:
    """Throwaway keys for this run: the example product has no fallback ``SECRET_KEY``
    or ``FIELD_ENCRYPTION_KEY`` (issue 13). The demo's database is recreated on every
    run, so nothing outlives them; the cluster it starts inherits them. ``DEBUG`` stays
    off unless ``DJANGO_DEBUG=1``."""
    import secrets

    from cryptography.fernet import Fernet

    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())


def step(text: str) -> None:
    print(f"==> {text}", flush=True)


def start_simulator(port: int, state_file: Path):
    from qbo_sync.testing.simulator import Simulator
    from qbo_sync.testing.simulator.server import serve_in_thread

    sim = Simulator(state_file=str(state_file))
    server, base_url = serve_in_thread(sim, port=port)
    return sim, server, base_url


def start_site(port: int):
    from django.core.wsgi import get_wsgi_application

    httpd = make_server(
        "127.0.0.1", port, get_wsgi_application(),
        server_class=_ThreadingWSGIServer, handler_class=_QuietHandler,
    )
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_port}"


def _form(html: str) -> tuple[str, dict[str, str]]:
    """The first form's action and its input values (radio: the checked or first one)."""
    form = re.search(r"<form[^>]*action=\"([^\"]*)\"[^>]*>(.*?)</form>", html, re.S | re.I)
    if not form:
        raise RuntimeError("no form on the page")
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form.group(2), re.I):
        name = re.search(r"name=\"([^\"]*)\"", tag)
        value = re.search(r"value=\"([^\"]*)\"", tag)
        kind = re.search(r"type=\"([^\"]*)\"", tag)
        if not name:
            continue
        key, val = name.group(1), unescape(value.group(1)) if value else ""
        if kind and kind.group(1).lower() == "radio":
            if key in fields and "checked" not in tag:
                continue
        if kind and kind.group(1).lower() == "submit":
            continue
        fields[key] = val
    return unescape(form.group(1)), fields


def connect_through_oauth(site: str, username: str, password: str, workspace: str) -> str:
    """Log in and click through connect → consent → callback like a browser."""
    import requests

    browser = requests.Session()
    login_url = f"{site}/admin/login/"
    page = browser.get(login_url, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    resp = browser.post(
        login_url,
        data={"username": username, "password": password, "csrfmiddlewaretoken": token,
              "next": "/admin/"},
        headers={"Referer": login_url}, timeout=10,
    )
    if "/admin/login/" in resp.url:
        raise RuntimeError("could not log in to the example site")
    consent = browser.get(f"{site}/qbo/connect/?workspace={workspace}", timeout=10)
    consent.raise_for_status()
    print(f"    consent page: {consent.url.split('?')[0]}")
    action, fields = _form(consent.text)
    done = browser.post(urljoin(consent.url, action), data=fields, timeout=30)
    done.raise_for_status()
    return done.url


def choose_settings(conn) -> None:
    from qbo_sync.connection import lists
    from qbo_sync.connection import settings as configure

    loaded = lists.load_lists(conn, refresh=True)
    items = {row["name"]: row["id"] for row in loaded["items"]}
    deposit = lists.deposit_account_choices(loaded)[0]
    print(f"    loaded {len(loaded['items'])} items, {len(loaded['tax_codes'])} tax codes, "
          f"{len(loaded['accounts'])} accounts")
    configure.update_settings(conn, default_item_id=items["Services"],
                              default_deposit_account_id=deposit[0])
    for category in ("design", "development", "consulting"):
        configure.set_item_mapping(conn, category=category, item_id=items[category.title()])
    configure.set_tax_mapping(conn, tax_rate="0.00", tax_code_id="NON")
    configure.set_tax_mapping(conn, tax_rate="8.25", tax_code_id="TAX")
    conn.refresh_from_db()
    print(f"    default item: {conn.default_item_name}; deposit account: "
          f"{conn.default_deposit_account_name}")
    print("    item mappings: design, development, consulting; tax: 0.00 → NON, 8.25 → TAX")
    missing = configure.missing_required(conn)
    print(f"    required settings missing: {', '.join(missing) or 'none'}")


def start_cluster():
    import subprocess

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "example_project.settings"}
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def push_history(conn, since_days: int):
    from datetime import timedelta

    from django.utils import timezone

    from qbo_sync.models import SyncJob
    from qbo_sync.sync import history, outbox

    since = timezone.localdate() - timedelta(days=since_days)
    run = history.start_historical(conn, kind="invoices", since=since)
    active = (SyncJob.Status.PENDING, SyncJob.Status.RUNNING)
    deadline = time.monotonic() + 600
    last = ""
    while time.monotonic() < deadline:
        time.sleep(1)
        run.refresh_from_db()
        # The cluster's scheduler ticks every ~30 s; sweeping here picks up jobs that
        # waited for a dependency a little sooner.
        outbox.sweep()
        left = SyncJob.objects.filter(workspace=conn.workspace, status__in=active).count()
        done = SyncJob.objects.filter(workspace=conn.workspace).exclude(status__in=active).count()
        line = (f"    historical run: {run.status} {run.done}/{run.total}   "
                f"jobs finished {done}, waiting {left}")
        if sys.stdout.isatty():
            print(f"\r{line}   ", end="", flush=True)
        elif line != last:
            print(line, flush=True)
        last = line
        if run.status in ("done", "failed") and left == 0:
            break
    if sys.stdout.isatty():
        print()
    return since


def print_summary(sim, conn, since) -> None:
    from collections import Counter

    from qbo_sync.models import SyncJob

    counts = Counter(
        SyncJob.objects.filter(workspace=conn.workspace).values_list("entity", "status")
    )
    print(f"    invoices issued since {since}: pushed with their customers and payments")
    print(f"    {'entity':<12} " + " ".join(f"{s:>10}" for s in ("succeeded", "skipped",
                                                               "failed", "other")))
    for entity in ("contact", "invoice", "payment"):
        row = [counts.get((entity, s), 0) for s in ("succeeded", "skipped", "failed")]
        other = sum(n for (e, s), n in counts.items()
                    if e == entity and s not in ("succeeded", "skipped", "failed"))
        print(f"    {entity:<12} " + " ".join(f"{n:>10}" for n in [*row, other]))
    failed = SyncJob.objects.filter(workspace=conn.workspace, status="failed").first()
    if failed:
        print(f"    e.g. failed: {failed.error_message[:160]}")
    realm = conn.realm_id
    # Books that agree: the app's total against what QuickBooks stored, to the cent.
    from example_project.billing.models import Invoice
    from qbo_sync.models import EntityLink

    stored = {i["Id"]: i for i in sim.store.all(realm, "Invoice")}
    pairs = [(inv.total, stored[link.qbo_id]["TotalAmt"])
             for link in EntityLink.objects.filter(connection=conn, qbo_type="Invoice")
             for inv in Invoice.objects.filter(pk=link.object_id) if link.qbo_id in stored]
    agree = sum(1 for mine, theirs in pairs if mine == theirs)
    print(f"    totals: {agree}/{len(pairs)} invoices equal to the cent in QuickBooks; "
          f"{counts.get(('invoice', 'differs'), 0)} jobs reported a difference")
    print(f"    in QuickBooks now: {len(sim.store.all(realm, 'Customer'))} customers, "
          f"{len(sim.store.all(realm, 'Invoice'))} invoices, "
          f"{len(sim.store.all(realm, 'Payment'))} payments")


def accountant_payments(sim, conn, count: int = 5) -> None:
    from decimal import Decimal

    from django.contrib.contenttypes.models import ContentType

    from example_project.billing.models import Invoice
    from qbo_sync.models import EntityLink

    ct = ContentType.objects.get_for_model(Invoice)
    open_links = [
        link for link in EntityLink.objects.filter(connection=conn, content_type=ct)
        .exclude(qbo_id="").order_by("pk")
        if Invoice.objects.get(pk=link.object_id).status == Invoice.Status.SENT
    ][:count]
    started = time.monotonic()
    for link in open_links:
        qbo_invoice = sim.store.get(conn.realm_id, "Invoice", link.qbo_id)
        balance = Decimal(str(qbo_invoice["Balance"]))
        sim.accountant.record_payment(conn.realm_id, link.qbo_id, balance,
                                            method="Check", reference="CHK-1001")
        number = Invoice.objects.get(pk=link.object_id).number
        print(f"    recorded {balance} against {number} (QuickBooks invoice {link.qbo_id})")
    wanted = {int(link.object_id) for link in open_links}
    deadline = time.monotonic() + 60
    paid: set[int] = set()
    while time.monotonic() < deadline and paid != wanted:
        time.sleep(0.5)
        paid = set(Invoice.objects.filter(pk__in=wanted, status=Invoice.Status.PAID)
                   .values_list("pk", flat=True))
    for invoice in Invoice.objects.filter(pk__in=wanted).order_by("pk"):
        note = invoice.payments.order_by("-pk").first()
        print(f"    {invoice.number}: {invoice.get_status_display()}"
              + (f" — payment of {note.amount} recorded from QuickBooks" if note else ""))
    print(f"    {len(paid)}/{len(wanted)} paid in the app within "
          f"{time.monotonic() - started:.1f}s of being recorded in QuickBooks")


def _settled(timeout: float = 60) -> None:
    """Wait until no sync job is pending or running (webhooks and pulls included)."""
    from qbo_sync.models import SyncJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and SyncJob.objects.filter(
            status__in=[SyncJob.Status.PENDING, SyncJob.Status.RUNNING]).exists():
        time.sleep(0.5)


def reconcile(sim, conn) -> None:
    """An accountant changes a quantity on one invoice and voids another in QuickBooks;
    a reconciliation finds both, one is pushed back, the other's void is taken into the
    app, and the next run is clean."""
    from decimal import Decimal

    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command

    from example_project.billing.models import Invoice
    from qbo_sync.models import EntityLink
    from qbo_sync.reconcile.repair import repair
    from qbo_sync.reconcile.run import run_reconciliation, start_reconciliation

    ct = ContentType.objects.get_for_model(Invoice)
    edited, voided = [
        link for link in EntityLink.objects.filter(connection=conn, content_type=ct,
                                                   variant="").exclude(qbo_id="").order_by("pk")
        if Invoice.objects.get(pk=link.object_id).status == Invoice.Status.SENT][:2]
    record = sim.store.get(conn.realm_id, "Invoice", edited.qbo_id)
    lines = [dict(ln) for ln in record["Line"] if ln.get("DetailType") == "SalesItemLineDetail"]
    detail = dict(lines[0]["SalesItemLineDetail"])
    qty = Decimal(str(detail.get("Qty") or 1)) + 1
    price = Decimal(str(detail.get("UnitPrice") or lines[0]["Amount"]))
    lines[0] = {**lines[0], "Amount": (qty * price).quantize(Decimal("0.01")),
                "SalesItemLineDetail": {**detail, "Qty": qty}}
    sim.accountant.edit_invoice(conn.realm_id, edited.qbo_id, {"Line": lines})
    sim.accountant.void_invoice(conn.realm_id, voided.qbo_id)
    print(f"    edited {edited.doc_number} (one more on its first line) and voided "
          f"{voided.doc_number} in QuickBooks")
    _settled()
    run = run_reconciliation(start_reconciliation(conn, trigger="command", queue=False))
    print(f"    run {run.pk}: {run.total} records compared in {run.calls} QuickBooks calls, "
          f"{run.found} differences")
    # The differences are an alert: the managers' e-mail prints here (console backend).
    call_command("qbo_sync_alerts", workspace=conn.workspace)
    for diff in run.differences.order_by("pk"):
        print(f"      {diff.kind}: {diff.explanation}")
        action = "accept" if diff.kind == "voided" else "push"
        if action in diff.repairs:
            repair(diff, action)
            print(f"        repaired: {action}")
    _settled()
    again = run_reconciliation(start_reconciliation(conn, trigger="command", queue=False))
    print(f"    run {again.pk}: {again.found} differences")


def show_metrics(conn, site_url: str) -> None:
    """The day's metrics, as ``qbo_sync_status --metrics`` prints them, and where the
    dashboard is."""
    from qbo_sync.management.metrics_text import metrics_lines
    from qbo_sync.metrics.compute import workspace_metrics

    for line in metrics_lines(workspace_metrics(conn.workspace, "24h")):
        print(f"  {line}")
    print(f"    dashboard: {site_url}/admin/qbo_sync/connection/{conn.pk}/dashboard/ "
          "(admin/admin)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-port", type=int, default=8765)
    parser.add_argument("--site-port", type=int, default=8000)
    parser.add_argument("--since-days", type=int, default=30,
                        help="push invoices issued in the last N days (default 30)")
    parser.add_argument("--keep-running", action="store_true",
                        help="leave both servers running until Ctrl-C")
    args = parser.parse_args(argv)

    import django

    started = time.monotonic()
    var = Path(os.environ.get("QBO_VAR_DIR", "var/demo"))
    var.mkdir(parents=True, exist_ok=True)
    # Every run starts from nothing: a fresh database and a fresh simulator.
    for leftover in (var / "db.sqlite3", var / "db.sqlite3-wal", var / "db.sqlite3-shm",
                     var / "simulator.json"):
        leftover.unlink(missing_ok=True)
    sim_state = var / "simulator.json"
    os.environ.setdefault("QBO_Q_LOG_LEVEL", "WARNING")
    demo_keys()
    os.environ["QBO_SIMULATOR_URL"] = f"http://127.0.0.1:{args.sim_port}"
    os.environ["QBO_REDIRECT_URI"] = f"http://127.0.0.1:{args.site_port}/qbo/callback/"
    django.setup()

    from django.core.management import call_command

    step("migrate")
    call_command("migrate", verbosity=0)
    step("seed the example invoicing product")
    call_command("seed_demo", reset=True)

    step("start the QBO simulator and the example site")
    sim, sim_server, sim_url = start_simulator(args.sim_port, sim_state)
    site_server, site_url = start_site(args.site_port)
    print(f"    simulator: {sim_url}   site: {site_url}")

    step("connect workspace 'default' to QuickBooks through the OAuth redirect flow")
    final_url = connect_through_oauth(site_url, "admin", "admin", "default")
    print(f"    landed on: {final_url}")

    from qbo_sync.models import Connection

    conn = Connection.objects.get(workspace="default")
    print(f"    status: {conn.get_status_display()}  company: {conn.company_name!r}  "
          f"realm: {conn.realm_id}")
    print(f"    access token expires: {conn.access_token_expires_at:%Y-%m-%d %H:%M:%S} UTC")
    if not conn.is_connected:
        print(f"    reason: {conn.status_reason}", file=sys.stderr)
        return 1

    step("choose settings from the lists loaded live from QuickBooks")
    choose_settings(conn)

    from example_project.demo_customers import import_customers, seed_quickbooks_customers

    step("import the customers the QuickBooks company already has")
    seed_quickbooks_customers(sim, conn.realm_id, "default")
    import_customers(conn)

    step("start a django-q2 cluster (ORM broker) and push the recent history through it")
    cluster = start_cluster()
    try:
        since = push_history(conn, args.since_days)
        print_summary(sim, conn, since)

        step("an accountant records payments in QuickBooks; webhooks bring them back")
        sim.set_webhook(url=f"{site_url}/qbo/webhooks/", format="cloudevents", interval=0.2)
        accountant_payments(sim, conn)

        step("the accountant edits and voids invoices in QuickBooks; reconciliation finds "
             "and repairs both")
        reconcile(sim, conn)

        step("the task board logs time: time activities in QuickBooks, billed by the "
             "task's invoice")
        from example_project.billing.demo_time import push_time

        push_time(sim, conn)
        step("metrics of the last 24 hours (the admin dashboard shows them as charts)")
        show_metrics(conn, site_url)
        step("alerts: evaluate the rules again; the repaired differences' alert is "
             "resolved once they stay clear for RESOLVE_AFTER_MINUTES")
        call_command("qbo_sync_alerts", workspace="default")
        print(f"done in {time.monotonic() - started:.1f}s")
        if args.keep_running:
            print(f"the site ({site_url}/admin/, admin/admin), the simulator and the "
                  "cluster keep running; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        cluster.terminate()
        cluster.wait(timeout=30)
    site_server.shutdown()
    sim_server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
