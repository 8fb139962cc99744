"""Worker mappings on the connection page: who did the work, for time pushed as
QuickBooks TimeActivity (QBO requires an Employee or Vendor on each)."""

from __future__ import annotations

from django.contrib import admin

from ..models import WorkerMapping


class WorkerMappingInline(admin.TabularInline):
    model = WorkerMapping
    extra = 0
    fields = ["worker_key", "name_of", "qbo_id", "qbo_name"]
    verbose_name = "worker mapping"
    verbose_name_plural = "worker mappings (time entry worker → QuickBooks employee or vendor)"
