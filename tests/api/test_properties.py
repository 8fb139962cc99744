"""Property-based: whatever a client sends to the sync log and the mappings PUT, the
answer is never a 5xx (issue 13: every input has a 4xx with a message)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from ..support import people, workspaces

BASE = "/api/v3/integrations/quickbooks/"
PARAMS = ["status", "entity", "action", "direction", "date_from", "date_to", "search",
          "page", "page_size", "workspace"]
FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

text = st.text(st.characters(codec="utf-8"), max_size=40)
dates = st.dates().map(lambda d: d.isoformat())
values = st.one_of(text, dates, st.integers().map(str),
                   st.sampled_from(["failed", "push", "pull", "2026-02-30", "9999-12-31",
                                    "\x00", "0", "-1", "1e9"]))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12)


@pytest.fixture
def client(db: Any, qbo_connection: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(people(*workspaces())["admin"])
    return client


@FAST
@given(query=st.dictionaries(st.sampled_from(PARAMS) | text, values, max_size=5))
def test_any_query_string_on_the_sync_log_is_answered_without_a_5xx(
        client: APIClient, query: dict[str, str]) -> None:
    resp = client.get(BASE + "sync-logs?" + urlencode(query))
    assert resp.status_code < 500, (query, resp.content[:300])
    if resp.status_code >= 400:
        assert resp.json()["detail"]


@FAST
@given(body=st.one_of(json_values, st.dictionaries(text, json_values, max_size=5),
                      st.fixed_dictionaries({"mappings": json_values})),
       kind=st.sampled_from(["items", "taxes"]))
def test_any_json_on_the_mappings_put_is_answered_without_a_5xx(
        client: APIClient, body: Any, kind: str) -> None:
    resp = client.generic("PUT", BASE + f"mappings/{kind}", json.dumps(body),
                          content_type="application/json")
    assert resp.status_code < 500, (body, resp.content[:300])
    if resp.status_code >= 400:
        assert resp.json()["detail"]
