"""Overdue tests stand on the push fixtures: the example product connected to the
simulator's US company, with django-q2 running tasks inline."""

from __future__ import annotations

from tests.push.conftest import connected, contact, us_workspace  # noqa: F401

__all__ = ["connected", "contact", "us_workspace"]
