"""Every call a job makes is logged with the job's correlation id and QuickBooks'
intuit_tid (issue 14, item 5), so a log line leads to the Sync Health row and to Intuit."""

from __future__ import annotations

import json
import logging

from qbo_sync.logs import JsonFormatter
from qbo_sync.models import SyncJob


def test_client_lines_carry_the_jobs_correlation_id_and_intuit_tid(qbo_simulator, connected,
                                                                   us_workspace, caplog):
    from example_project.billing.models import Contact

    with caplog.at_level(logging.DEBUG, logger="qbo_sync.client"):
        person = Contact.objects.create(workspace=us_workspace, display_name="Hooli",
                                        email="ap@hooli.example")
    job = SyncJob.objects.get(entity="contact", object_id=str(person.pk))
    assert job.status == "succeeded"
    calls = [r for r in caplog.records if r.name == "qbo_sync.client"
             and getattr(r, "intuit_tid", "")]
    assert calls, "the client logged no call with an intuit_tid"
    assert {r.correlation_id for r in calls} == {str(job.correlation_id)}
    tids = {attempt.intuit_tid for attempt in job.attempt_log.all()} - {""}
    assert tids <= {r.intuit_tid for r in calls}  # what Sync Health shows is logged too
    entry = json.loads(JsonFormatter().format(calls[-1]))
    assert entry["correlation_id"] == str(job.correlation_id)
    assert entry["intuit_tid"] == calls[-1].intuit_tid
