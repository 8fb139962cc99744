"""Alerts: what is open and what was resolved, per workspace (read-only; the
``qbo_sync_alerts`` command and the schedule write them)."""

from __future__ import annotations

from django.contrib import admin

from ..models import AlertState
from .base import ReadOnlyAdmin, ScopedValuesFilter


@admin.register(AlertState)
class AlertStateAdmin(ReadOnlyAdmin):
    list_display = ["title", "workspace", "rule", "active", "first_seen_at", "last_seen_at",
                    "last_notified_at", "notified_count", "resolved_at"]
    list_filter = ["active", "rule", ("workspace", ScopedValuesFilter)]
    search_fields = ["title", "detail"]
    ordering = ["-active", "-last_seen_at"]
    fields = ["workspace", "rule", "subject", "active", "title", "detail", "first_seen_at",
              "last_seen_at", "clear_since", "last_notified_at", "notified_count",
              "resolved_at"]
    readonly_fields = fields
