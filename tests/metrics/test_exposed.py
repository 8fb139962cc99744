"""The metrics through the status API, the command and the Prometheus endpoint."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from qbo_sync.metrics import prometheus

from ..support import people, workspaces
from .support import NOW, books

pytestmark = pytest.mark.django_db
API = "/api/v3/integrations/quickbooks/metrics"
SCRAPE = "/qbo/metrics/"
TOKEN = "scrape-token-9f2c1d"


def qbo(**kw: Any) -> Any:
    return override_settings(QBO_SYNC={**settings.QBO_SYNC, **kw})


# The status API -------------------------------------------------------------------------


@pytest.fixture
def users(db: Any) -> dict[str, Any]:
    return people(*workspaces())


def test_api_gives_the_workspaces_metrics(users: dict) -> None:
    made = books()
    # The example product's default workspace is "default": give it acme's data.
    made["acme"].__class__.objects.filter(pk=made["acme"].pk).update(workspace="default")
    from qbo_sync.models import SyncJob
    SyncJob.objects.filter(workspace="acme").update(workspace="default")
    client = APIClient()
    client.force_authenticate(users["admin"])
    with mock.patch("qbo_sync.metrics.compute.timezone.now", return_value=NOW):
        body = client.get(API, {"window": "24h"}).json()
        default = client.get(API).json()
    assert body["workspace"] == "default" and body["window"] == "24h"
    assert body["jobs"]["succeeded"] == 5 and body["jobs"]["success_rate"] == 0.7143
    assert body["push_latency"] == {"p50_seconds": 20.0, "p95_seconds": 100.0, "samples": 4}
    assert body["errors"]["by_code"] == {"6240": 2, "none": 2}
    assert body["calls"]["by_kind"]["cdc"] == 4 and body["cost"]["calls_per_successful_sync"]
    assert default == body  # 24h is the default window


@pytest.mark.parametrize("bad", ["2d", "24H", "", "1h ", "x" * 500, "7d\x00"])
def test_api_refuses_a_window_it_does_not_know(users: dict, bad: str) -> None:
    client = APIClient()
    client.force_authenticate(users["admin"])
    resp = client.get(API, {"window": bad})
    if bad.strip() in ("", "1h"):  # blank means the default; spaces are trimmed
        assert resp.status_code == 200
        return
    assert resp.status_code == 400
    body = resp.json()
    assert body["fix"] and body["errors"]["window"]
    if "\x00" not in bad:
        assert "1h, 24h, 7d, 30d" in body["fix"]
    assert len(body["detail"]) < 120  # a huge value is not echoed whole


def test_api_needs_a_manager(users: dict) -> None:
    client = APIClient()
    client.force_authenticate(users["member"])
    assert client.get(API).status_code == 403


# The command ----------------------------------------------------------------------------


def test_command_prints_the_metrics() -> None:
    books()
    out = StringIO()
    with mock.patch("qbo_sync.metrics.compute.timezone.now", return_value=NOW):
        call_command("qbo_sync_status", "--metrics", "--window", "24h", "--workspace",
                     "acme", stdout=out)
    text = out.getvalue()
    assert "acme — last 24h (since 2026-12-03 12:00 UTC)" in text
    assert "5 succeeded (1 with totals differing), 1 failed, 1 parked, 1 skipped; " \
        "success 71.4 %, errors 28.6 %" in text
    assert "failed tries: 4 (by code: 6240 2, none 2; by kind: validation 2, reconnect 1, " \
        "transient 1)" in text
    assert "push latency: p50 20.0 s, p95 100.0 s over 4 pushes" in text
    assert "pull lag: 15.0 min" in text
    assert "queue: 3 waiting (1 due, 1 running), 1 parked; oldest 3.0 h" in text
    assert "peak 5/min of 500" in text and "1.2 calls per successful sync" in text
    assert "push invoice create: 4 ok, 0 failed, 0 parked, 0 skipped, 1 retries, " \
        "success 100.0 %, p50 20.0 s p95 100.0 s" in text

    out = StringIO()
    with mock.patch("qbo_sync.metrics.compute.timezone.now", return_value=NOW):
        call_command("qbo_sync_status", "--metrics", "--window", "7d", "--json", stdout=out)
    found = {m["workspace"]: m for m in json.loads(out.getvalue())}
    assert set(found) == {"acme", "other"}
    assert found["acme"]["push_latency"]["p95_seconds"] == 1000.0


def test_command_refuses_an_unknown_window() -> None:
    from django.core.management.base import CommandError
    with pytest.raises(CommandError, match="invalid choice: '2d'"):
        call_command("qbo_sync_status", "--metrics", "--window", "2d")


# Prometheus -----------------------------------------------------------------------------


def test_prometheus_is_off_by_default(client: Any) -> None:
    assert client.get(SCRAPE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x",
                                    "Bearer "])
def test_prometheus_needs_the_token(client: Any, header: str | None) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    with qbo(PROMETHEUS_ENABLED=True, PROMETHEUS_TOKEN=TOKEN):
        resp = client.get(SCRAPE, **extra)
    assert resp.status_code == 401 and resp["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in resp.content.decode()


def test_prometheus_with_no_token_set_answers_no_one(client: Any) -> None:
    with qbo(PROMETHEUS_ENABLED=True, PROMETHEUS_TOKEN=""):
        assert client.get(SCRAPE, HTTP_AUTHORIZATION="Bearer ").status_code == 401


def scrape(client: Any) -> dict[str, Any]:
    with qbo(PROMETHEUS_ENABLED=True, PROMETHEUS_TOKEN=TOKEN), \
            mock.patch("qbo_sync.metrics.prometheus.timezone.now", return_value=NOW):
        resp = client.get(SCRAPE, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/plain")
    return {f.name: f for f in text_string_to_metric_families(resp.content.decode())}


def samples(family: Any, **labels: str) -> dict[tuple, float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples
            if all(s.labels.get(k) == v for k, v in labels.items())}


def test_prometheus_scrape_parses_and_holds_the_figures(client: Any) -> None:
    books()
    families = scrape(client)
    assert families["qbo_sync_jobs"].type == "gauge"
    assert families["qbo_sync_jobs_created"].type == "counter"
    jobs = samples(families["qbo_sync_jobs"], workspace="acme", entity="invoice",
                   direction="push")
    assert {dict(k)["status"]: v for k, v in jobs.items()} == {
        "succeeded": 4.0, "differs": 1.0, "failed": 1.0, "pending": 2.0}
    created = samples(families["qbo_sync_jobs_created"], workspace="acme", entity="invoice")
    assert list(created.values()) == [8.0]
    assert next(s.name for s in families["qbo_sync_jobs_created"].samples) == \
        "qbo_sync_jobs_created_total"
    # Windowed figures: the last hour.
    ratio = samples(families["qbo_sync_success_ratio"], workspace="acme")
    assert list(ratio.values()) == [1.0]
    latency = samples(families["qbo_sync_push_latency_seconds"], workspace="acme")
    assert {dict(k)["quantile"]: v for k, v in latency.items()} == {"0.50": 20.0,
                                                                    "0.95": 100.0}
    assert list(samples(families["qbo_sync_errors_by_kind"], workspace="acme").values()) \
        == [1.0]
    calls = samples(families["qbo_sync_api_calls"], workspace="acme")
    assert {dict(k)["kind"]: v for k, v in calls.items()} == {"cdc": 4.0, "query": 1.0,
                                                               "read": 2.0, "write": 3.0}
    # Now: queue, pull lag, metered reads.
    assert samples(families["qbo_sync_queue_depth"], workspace="acme") == {
        (("workspace", "acme"),): 3.0}
    assert list(samples(families["qbo_sync_queue_oldest_age_seconds"],
                        workspace="acme").values()) == [10800.0]
    assert list(samples(families["qbo_sync_pull_lag_seconds"]).values()) == [900.0]
    assert list(samples(families["qbo_sync_metered_reads_month"],
                        workspace="acme").values()) == [7.0]
    assert families["qbo_sync_metered_reads_budget"].samples[0].value == 500_000
    # Other workspaces are labelled apart.
    other = samples(families["qbo_sync_jobs"], workspace="other")
    assert list(other.values()) == [1.0]


def test_every_name_follows_the_conventions() -> None:
    books()
    for family in prometheus.SyncCollector(NOW).collect():
        assert family.name.startswith("qbo_sync_")
        assert not family.name.endswith("_total")  # the client adds it to counters only
        for sample in family.samples:
            if family.type == "counter":
                assert sample.name == family.name + "_total"
        if "seconds" in family.name:
            assert family.name.endswith("_seconds")
