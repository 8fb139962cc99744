"""Read-only records: webhook deliveries (with Replay), the daily counts of refused
deliveries, and the settings audit trail."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ..exceptions import QBOSyncError
from ..models import SettingsChange, WebhookEvent, WebhookRejection
from ..pull.webhooks import replay_event
from . import display
from .base import CheckedQueryAdmin, ReadOnlyAdmin, ScopedRelatedFilter


@admin.register(SettingsChange)
class SettingsChangeAdmin(ReadOnlyAdmin):
    workspace_lookup = "connection__workspace"
    list_display = ["changed_at", "connection", "user", "field", "old_value", "new_value"]
    list_filter = [("connection", ScopedRelatedFilter), "changed_at"]
    search_fields = ["field", "old_value", "new_value", "user__username"]
    list_select_related = ["connection", "user"]
    fields = list_display


@admin.register(WebhookEvent)
class WebhookEventAdmin(CheckedQueryAdmin):
    """Raw deliveries from Intuit. They are not tied to one workspace, so only
    superusers see them."""

    list_display = ["id", "received_at", "verified", "envelope", "realms", "processed",
                    "processed_at", "attempts", "next_attempt_at", "error"]
    list_filter = ["verified", "processed", "envelope", "received_at"]
    search_fields = ["body", "error"]
    fields = ["received_at", "verified", "envelope", "realms", "processed", "processed_at",
              "attempts", "next_attempt_at", "error", "headers_pretty", "body_pretty"]
    readonly_fields = fields
    actions = ["replay"]

    @admin.display(description="Realms")
    def realms(self, event: WebhookEvent) -> str:
        return ", ".join(str(r) for r in event.realm_ids or []) or "—"

    @admin.display(description="Headers")
    def headers_pretty(self, event: WebhookEvent) -> str:
        return display.pretty_json(event.headers)

    @admin.display(description="Body")
    def body_pretty(self, event: WebhookEvent) -> str:
        try:
            return display.pretty_json(json.loads(event.body))
        except ValueError:
            return display.pretty_json(event.body)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    @admin.action(description="Replay selected deliveries", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        done, failed = 0, []
        for event in queryset.order_by("received_at"):
            try:
                replay_event(event.pk)
            except (ValueError, QBOSyncError) as exc:
                failed.append(f"#{event.pk}: {exc}")
            else:
                done += 1
        if done:
            self.message_user(
                request, f"{done} deliver{'y' if done == 1 else 'ies'} queued to be processed "
                "again.", messages.SUCCESS)
        if failed:
            self.message_user(request, "Not replayed: " + "; ".join(failed), messages.ERROR)


@admin.register(WebhookRejection)
class WebhookRejectionAdmin(CheckedQueryAdmin):
    """Deliveries refused before anything was stored (bad signature, too large), one
    row per day and reason. Not tied to one workspace, so only superusers see them."""

    list_display = ["day", "reason", "count", "first_seen", "last_seen"]
    list_filter = ["reason", "day"]
    fields = ["day", "reason", "count", "first_seen", "last_seen", "sample"]
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
