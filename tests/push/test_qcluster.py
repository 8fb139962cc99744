"""End to end through a real ``qcluster`` worker process and the simulator over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from qbo_sync.models import SyncJob
from qbo_sync.testing.connections import connect_to_simulator
from qbo_sync.testing.simulator.companies import US_REALM

from .conftest import _deposit_id, item_ids, job_for, qbo, send_invoice

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0


@pytest.fixture
def cluster(qbo_sim_server, transactional_db):
    """A ``manage.py qcluster`` subprocess sharing this test's database."""
    if db_connection.vendor == "sqlite":
        db_connection.close()  # let the worker open the file freely
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.qcluster_settings",
           "QBO_SIMULATOR_URL": qbo_sim_server.base_url, "OAUTHLIB_INSECURE_TRANSPORT": "1",
           "PYTHONPATH": str(ROOT)}
    log = open(ROOT / "var" / f"qcluster-{os.getpid()}.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "manage.py", "qcluster"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.seek(0)
        output = log.read()
        log.close()
        os.unlink(log.name)
        if "Traceback" in output:
            print(output[-4000:])


@pytest.mark.qcluster
def test_invoice_reaches_qbo_through_a_real_worker(qbo_sim_server, cluster, monkeypatch,
                                                   us_workspace):
    from django_q.conf import Conf

    from example_project.billing.models import Contact

    monkeypatch.setattr(Conf, "SYNC", False)  # enqueue to the broker, not inline
    connect_to_simulator(qbo_sim_server, US_REALM,
                         connected_at=timezone.now() - timedelta(days=1),
                         default_item_id=item_ids(qbo_sim_server)["Services"],
                         default_deposit_account_id=_deposit_id(qbo_sim_server, US_REALM))
    contact = Contact.objects.create(workspace=us_workspace, display_name="Wayne Enterprises",
                                     email="ap@wayne.example")
    invoice = send_invoice(contact, number="INV-Q-1")
    job = job_for(invoice)
    assert job.status == "pending"
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status not in (SyncJob.Status.PENDING, SyncJob.Status.RUNNING):
            break
        assert cluster.poll() is None, "qcluster exited early"
        time.sleep(0.3)
    assert job.status == "succeeded", (job.status, job.error_message)
    invoices = qbo(qbo_sim_server, "Invoice")
    assert [i["DocNumber"] for i in invoices] == ["INV-Q-1"]
    assert job.qbo_id == invoices[0]["Id"]
    # Claimed by the worker process, not by this one.
    assert job.claimed_by and job.claimed_by.rsplit(":", 1)[-1] != str(os.getpid())
