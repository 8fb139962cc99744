"""System checks for the metrics' settings."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.test import override_settings

from qbo_sync.checks import check_metrics_settings


def ids(**kw: Any) -> list[str]:
    with override_settings(QBO_SYNC={**settings.QBO_SYNC, **kw}):
        return [e.id for e in check_metrics_settings()]


def test_defaults_pass() -> None:
    assert ids() == []


def test_prometheus_on_needs_a_token_and_the_library() -> None:
    assert ids(PROMETHEUS_ENABLED=True) == ["qbo_sync.E040"]
    assert ids(PROMETHEUS_ENABLED=True, PROMETHEUS_TOKEN="t" * 32) == []
    with mock.patch.dict("sys.modules", {"prometheus_client": None}):
        assert ids(PROMETHEUS_ENABLED=True, PROMETHEUS_TOKEN="t" * 32) == ["qbo_sync.E041"]


@pytest.mark.parametrize("budget", [0, -1, "500000", True, 1.5])
def test_the_read_budget_is_a_positive_whole_number(budget: Any) -> None:
    assert ids(METERED_READS_PER_MONTH=budget) == ["qbo_sync.E042"]
