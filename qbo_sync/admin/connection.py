"""The connection screen: status and the connect / disconnect / reconnect buttons,
token lifetimes, the settings chosen from live QBO lists, item and tax mappings,
import / export, manual sync and the audit trail. Tokens are never shown."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from ..connection import versions
from ..connection.lists import load_lists
from ..connection.settings import (
    SETTINGS_FIELDS,
    delete_item_mapping,
    delete_tax_mapping,
    missing_required,
    set_item_mapping,
    set_tax_mapping,
    update_settings,
)
from ..exceptions import QBOSyncError
from ..models import Connection, ItemMapping, SettingsChange, TaxMapping, WorkerMapping
from ..permissions import resolve_workspace
from ..reconcile.run import start_reconciliation
from . import dashboard, display, views
from .base import ScopedAdmin, check_workspace
from .forms import ItemMappingForm, SettingsForm, TaxMappingForm
from .imports import import_customers, import_customers_dry_run
from .workers import WorkerMappingInline

TOKEN_FIELDS = ("access_token", "refresh_token", "key_canary")


def connect_url(workspace: str) -> str:
    """The OAuth connect view for ``workspace`` (``?workspace=`` is read by the host's
    WORKSPACE_RESOLVER; the default resolver always uses "default")."""
    return f"{reverse('qbo_sync:connect')}?{urlencode({'workspace': workspace})}"


class _MappingInline(admin.TabularInline):
    extra = 1

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any):
        form = type(self.form.__name__, (self.form,), {"lists": getattr(request, "_qbo_lists",
                                                                        None)})
        return super().get_formset(request, obj, form=form, **kwargs)


class ItemMappingInline(_MappingInline):
    model = ItemMapping
    form = ItemMappingForm
    fields = ["category", "item_id"]
    verbose_name = "item mapping (line category → QuickBooks item)"


class TaxMappingInline(_MappingInline):
    model = TaxMapping
    form = TaxMappingForm
    fields = ["tax_rate", "tax_code_id"]
    verbose_name = "tax mapping (tax rate → QuickBooks tax code)"


@admin.register(Connection)
class ConnectionAdmin(ScopedAdmin):
    list_display = ["workspace", "company", "status_badge", "environment", "tokens",
                    "missing_settings", "buttons"]
    list_display_links = ["workspace", "company"]
    search_fields = ["workspace", "company_name", "realm_id"]
    list_filter = ["status", "environment"]
    actions = ["reconcile_now", import_customers, import_customers_dry_run]
    form = SettingsForm
    inlines = [ItemMappingInline, TaxMappingInline, WorkerMappingInline]
    change_form_template = "admin/qbo_sync/connection/change_form.html"
    change_list_template = "admin/qbo_sync/connection/change_list.html"
    fieldsets = [
        ("QuickBooks company", {"fields": [
            "status_badge", "status_reason", "company_name", "realm_id", "workspace",
            "environment", "connected_at", "connected_by"]}),
        ("Tokens (the tokens themselves are never shown)", {"fields": [
            "access_expiry", "refresh_expiry", "hard_expiry"]}),
        ("Settings", {"fields": ["lists_info", "invoice_number_strategy", "tax_authority",
                                 "default_item_id",
                                 "default_tax_code_id", "default_deposit_account_id",
                                 "ar_account_id", "rounding_item_id", "rounding_tolerance",
                                 "minor_version", "version_note"]}),
    ]
    readonly_fields = ["status_badge", "status_reason", "company_name", "realm_id", "workspace",
                       "environment", "connected_at", "connected_by", "access_expiry",
                       "refresh_expiry", "hard_expiry", "lists_info"]

    @admin.action(description="Reconcile with QuickBooks now")
    def reconcile_now(self, request: HttpRequest, queryset: Any) -> None:
        for conn in queryset:
            check_workspace(request, conn.workspace)
            try:
                run = start_reconciliation(conn, trigger="admin", user=request.user)
            except QBOSyncError as exc:
                self.message_user(request, views.explain(exc), messages.WARNING)
                continue
            url = reverse("admin:qbo_sync_reconciliationrun_change", args=[run.pk])
            self.message_user(request, format_html(
                'Reconciliation of {} started: <a href="{}">follow it here</a>.',
                conn.workspace, url), messages.SUCCESS)

    # Columns / read-only fields -------------------------------------------------------

    @admin.display(description="Company", ordering="company_name")
    def company(self, conn: Connection) -> str:
        return conn.company_name or "—"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, conn: Connection) -> str:
        badge = display.connection_badge(conn)
        if conn.status == Connection.Status.ERROR and conn.status_reason:
            return format_html('{}<div style="color:{}">{}</div>', badge, display.RED,
                               conn.status_reason)
        return badge

    @admin.display(description="Tokens expire")
    def tokens(self, conn: Connection) -> str:
        rows = [("access", conn.access_token_expires_at),
                ("refresh", conn.refresh_token_expires_at),
                ("5-year limit", conn.refresh_token_hard_expires_at)]
        if not any(when for _, when in rows):
            return "—"
        return format_html_join(mark_safe("<br>"), "{}: {}",
                                ((name, display.expires_in(when, short=True))
                                 for name, when in rows))

    @admin.display(description="Access token expires")
    def access_expiry(self, conn: Connection) -> str:
        return display.expires_in(conn.access_token_expires_at)

    @admin.display(description="Refresh token expires")
    def refresh_expiry(self, conn: Connection) -> str:
        return display.expires_in(conn.refresh_token_expires_at)

    @admin.display(description="Reconnect needed by (5-year limit)")
    def hard_expiry(self, conn: Connection) -> str:
        # docs/qbo-rules.md §1.5: the refresh-token chain ends 5 years after the first grant.
        return display.expires_in(conn.refresh_token_hard_expires_at)

    @admin.display(description="Missing settings")
    def missing_settings(self, conn: Connection) -> str:
        missing = self._missing(conn)
        if not missing:
            return "—"
        return format_html('<span style="color:{}">{}</span>', display.RED, ", ".join(missing))

    @admin.display(description="")
    def buttons(self, conn: Connection) -> str:
        links = []
        if conn.status == Connection.Status.CONNECTED:
            links.append((reverse("admin:qbo_sync_connection_disconnect", args=[conn.pk]),
                          "Disconnect"))
            links.append((connect_url(conn.workspace), "Reconnect"))
        elif conn.status == Connection.Status.ERROR:
            links.append((connect_url(conn.workspace), "Reconnect"))
        else:
            links.append((connect_url(conn.workspace), "Connect to QuickBooks"))
        links.append((dashboard.dashboard_url(conn), "Dashboard"))
        return format_html_join(" ", '<a class="button" href="{}">{}</a>', links)

    @admin.display(description="Lists from QuickBooks")
    def lists_info(self, conn: Connection) -> str:
        if not conn.lists_fetched_at:
            return "Not loaded yet."
        age = timesince(conn.lists_fetched_at)
        when = "just now" if age.startswith("0\xa0") else f"{age} ago"
        return (f"Loaded {when}. Changed something in QuickBooks since? Use “Refresh lists "
                "from QuickBooks”.")

    def recent_changes(self, conn: Connection) -> str:
        rows = list(SettingsChange.objects.filter(connection=conn)
                    .select_related("user").order_by("-changed_at", "-pk")[:20])
        if not rows:
            return "No changes yet."
        body = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((f"{c.changed_at:%Y-%m-%d %H:%M:%S}", c.user or "—", c.field, c.old_value or "—",
              c.new_value or "—") for c in rows))
        link = (reverse("admin:qbo_sync_settingschange_changelist")
                + f"?connection__id__exact={conn.pk}")
        versions_link = (reverse("admin:qbo_sync_mappingversion_changelist")
                         + f"?connection__id__exact={conn.pk}")
        return format_html(
            '<table class="qbo-changes"><thead><tr><th>When</th><th>Who</th><th>What</th>'
            '<th>Before</th><th>After</th></tr></thead><tbody>{}</tbody></table>'
            '<p><a href="{}">All changes</a> · <a href="{}" id="qbo-versions">Versions '
            '(compare, roll back)</a></p>', body, link, versions_link)

    # Permissions ----------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a connection is made by connecting (OAuth), not typed in

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # disconnect instead: links and history must stay

    # Forms -----------------------------------------------------------------------------

    def _missing(self, conn: Connection) -> list[str]:
        return missing_required(conn)

    def _lists(self, request: HttpRequest, conn: Connection) -> dict | None:
        """The QBO lists (cached on the connection); None, with a message, if QBO could
        not be asked."""
        if not hasattr(request, "_qbo_lists"):
            lists = None
            if conn.is_connected:
                try:
                    lists = load_lists(conn)
                except QBOSyncError as exc:
                    self.message_user(request, "Could not load the lists from QuickBooks: "
                                      f"{views.explain(exc)}", messages.WARNING)
            elif conn.lists_cache:
                lists = conn.lists_cache  # last known lists, shown while disconnected
            request._qbo_lists = lists  # type: ignore[attr-defined]
        return request._qbo_lists  # type: ignore[attr-defined]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                 **kwargs: Any):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form
        attrs = {"lists": self._lists(request, obj), "missing": tuple(self._missing(obj))}
        return type(form.__name__, (form,), attrs)

    def get_inline_instances(self, request: HttpRequest, obj: Any = None):
        if obj is not None:
            self._lists(request, obj)
        return super().get_inline_instances(request, obj)

    def changeform_view(self, request: HttpRequest, object_id: str | None = None,
                        form_url: str = "", extra_context: dict | None = None):
        conn = self.get_object(request, object_id) if object_id else None
        if request.method != "POST" or conn is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        # The form and its mapping inlines are one change: one version.
        with versions.recording(conn, user=request.user):
            return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Connection, form: Any,
                   change: bool) -> None:
        versions.set_note(form.cleaned_data.get("version_note") or "")
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f in SETTINGS_FIELDS}
        if not changes:
            return
        try:
            update_settings(obj, user=request.user, **changes)
        except QBOSyncError as exc:
            self.message_user(request, f"Settings not saved: {views.explain(exc)}",
                              messages.ERROR)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any,
                     change: bool) -> None:
        if formset.model is WorkerMapping:
            # Plain rows: nothing in them is checked against QuickBooks' lists.
            return super().save_formset(request, form, formset, change)
        conn = form.instance
        items = formset.model is ItemMapping
        key, value = ("category", "item_id") if items else ("tax_rate", "tax_code_id")
        setter, deleter = ((set_item_mapping, delete_item_mapping) if items
                           else (set_tax_mapping, delete_tax_mapping))
        lists = getattr(request, "_qbo_lists", None)
        # What the admin's history entry reports (formset.save() is not used: the
        # configure functions validate and audit each change).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            if not row.has_changed() or not hasattr(row, "cleaned_data"):
                continue
            old_key = row.initial.get(key) if row.instance.pk else None
            try:
                if formset.can_delete and row.cleaned_data.get("DELETE"):
                    if old_key:
                        deleter(conn, user=request.user, **{key: old_key})
                        formset.deleted_objects.append(row.instance)
                    continue
                new_key = row.cleaned_data.get(key)
                if old_key and old_key != new_key:
                    deleter(conn, user=request.user, **{key: old_key})
                mapping = setter(conn, user=request.user, lists=lists,
                                 **{key: new_key, value: row.cleaned_data[value]})
                if old_key:
                    formset.changed_objects.append((mapping, row.changed_data))
                else:
                    formset.new_objects.append(mapping)
            except QBOSyncError as exc:
                self.message_user(request, f"Mapping not saved: {views.explain(exc)}",
                                  messages.ERROR)

    # Screens ---------------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        workspace = resolve_workspace(request)
        extra = {"title": "QuickBooks connections", "connect_workspace": workspace,
                 "connect_action": reverse("qbo_sync:connect"), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict | None = None):
        conn = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if conn is not None:
            pk = conn.pk
            extra.update(
                missing_required=self._missing(conn),
                recent_changes=self.recent_changes(conn),
                connect_url=connect_url(conn.workspace),
                disconnect_url=reverse("admin:qbo_sync_connection_disconnect", args=[pk]),
                refresh_url=reverse("admin:qbo_sync_connection_refresh_lists", args=[pk]),
                export_url=reverse("admin:qbo_sync_connection_export", args=[pk]),
                import_url=reverse("admin:qbo_sync_connection_import", args=[pk]),
                sync_url=reverse("admin:qbo_sync_connection_sync", args=[pk]),
                health_url=reverse("admin:qbo_sync_syncjob_changelist")
                + f"?workspace={conn.workspace}",
                dashboard_url=dashboard.dashboard_url(conn),
            )
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self):
        def wrap(view, *, post: bool = False):
            def inner(request: HttpRequest, object_id: str) -> HttpResponse:
                conn = get_object_or_404(self.get_queryset(request), pk=object_id)
                check_workspace(request, conn.workspace)
                if not self.has_change_permission(request, conn):
                    raise PermissionDenied("You may not change this connection.")
                return view(self, request, conn)

            inner = require_POST(inner) if post else inner
            return self.admin_site.admin_view(inner)

        return [
            path("<path:object_id>/disconnect/", wrap(views.disconnect_view),
                 name="qbo_sync_connection_disconnect"),
            path("<path:object_id>/refresh-lists/", wrap(views.refresh_lists_view, post=True),
                 name="qbo_sync_connection_refresh_lists"),
            path("<path:object_id>/export-mappings/", wrap(views.export_mappings_view),
                 name="qbo_sync_connection_export"),
            path("<path:object_id>/import-mappings/", wrap(views.import_mappings_view),
                 name="qbo_sync_connection_import"),
            path("<path:object_id>/sync/", wrap(views.manual_sync_view),
                 name="qbo_sync_connection_sync"),
            path("<path:object_id>/dashboard/", wrap(dashboard.dashboard_view),
                 name="qbo_sync_connection_dashboard"),
            *super().get_urls(),
        ]
