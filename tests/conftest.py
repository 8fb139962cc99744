"""Shared fixtures. The simulator fixtures come from ``qbo_sync.testing.fixtures``
(registered as a pytest plugin by the package's entry point)."""

import pytest


@pytest.fixture(autouse=True)
def _fresh_call_budget():
    """The per-realm call budget lives in Django's cache; start every test with a full
    one so calls made by earlier tests in the same minute do not count."""
    from django.core.cache import cache

    cache.clear()
    yield
