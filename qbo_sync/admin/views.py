"""Extra admin views on a connection: disconnect (with confirmation), refresh the QBO
lists, export / import mappings and start a manual sync. Each is thin: the work is
done by ``qbo_sync.oauth``, ``lists``, ``configure`` and ``history``."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from ..connection.documents import export_document, import_document
from ..connection.lists import load_lists
from ..connection.oauth import disconnect
from ..connection.settings import import_mappings
from ..exceptions import QBOSyncError
from ..models import Connection
from ..sync.history import start_historical
from .forms import ImportMappingsForm, ManualSyncForm


def explain(exc: QBOSyncError) -> str:
    """An error as a person can act on it: the message and the fix."""
    return exc.explained()


def change_url(connection: Connection) -> str:
    return reverse("admin:qbo_sync_connection_change", args=[connection.pk])


def _context(modeladmin: admin.ModelAdmin, request: HttpRequest, connection: Connection,
             title: str, **extra: Any) -> dict[str, Any]:
    return {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "original": connection,
        "connection": connection,
        "title": title,
        "change_url": change_url(connection),
        **extra,
    }


def disconnect_view(modeladmin: admin.ModelAdmin, request: HttpRequest,
                    connection: Connection) -> HttpResponse:
    """GET: a confirmation page. POST: revoke and forget the tokens."""
    if request.method == "POST":
        disconnect(connection, user=request.user)
        modeladmin.message_user(
            request, "QuickBooks disconnected. Synced records and history are kept; waiting "
            "jobs run again once you reconnect.", messages.SUCCESS)
        return HttpResponseRedirect(change_url(connection))
    context = _context(modeladmin, request, connection, "Disconnect QuickBooks?")
    return TemplateResponse(request, "admin/qbo_sync/connection/disconnect.html", context)


def refresh_lists_view(modeladmin: admin.ModelAdmin, request: HttpRequest,
                       connection: Connection) -> HttpResponse:
    """POST: reload items, tax codes and accounts from QBO now."""
    try:
        lists = load_lists(connection, refresh=True)
    except QBOSyncError as exc:
        modeladmin.message_user(request, f"Could not load the lists from QuickBooks: "
                                f"{explain(exc)}", messages.ERROR)
    else:
        modeladmin.message_user(
            request, f"Loaded {len(lists['items'])} items, {len(lists['tax_codes'])} tax "
            f"codes and {len(lists['accounts'])} accounts from QuickBooks.", messages.SUCCESS)
    return HttpResponseRedirect(change_url(connection))


def export_mappings_view(modeladmin: admin.ModelAdmin, request: HttpRequest,
                         connection: Connection) -> HttpResponse:
    """The settings and item and tax mappings as a versioned JSON download
    (``{"schema_version": 1, …}``, the import format)."""
    body = json.dumps(export_document(connection), indent=2, sort_keys=True)
    response = HttpResponse(body + "\n", content_type="application/json")
    name = f"qbo-mappings-{connection.workspace}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def import_mappings_view(modeladmin: admin.ModelAdmin, request: HttpRequest,
                         connection: Connection) -> HttpResponse:
    """Upload or paste mappings JSON; nothing is imported if any id is unknown."""
    form = ImportMappingsForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            document = form.cleaned_data["document"]
            results = [(kind, import_mappings(connection, user=request.user, data=data,
                                              kind=kind))
                       for kind, data in form.cleaned_data["batches"]]
            if document is not None:
                summary = import_document(connection, document, user=request.user)
                results = [(kind, summary[kind]) for kind in ("items", "taxes")
                           if kind in summary]
                modeladmin.message_user(
                    request, f"Settings imported: {len(summary['settings'])} changed.",
                    messages.SUCCESS)
        except QBOSyncError as exc:
            form.add_error(None, explain(exc))
        else:
            for kind, summary in results:
                what = "Item" if kind == "items" else "Tax"
                modeladmin.message_user(
                    request, f"{what} mappings imported: {len(summary['created'])} created, "
                    f"{len(summary['updated'])} updated, {len(summary['unchanged'])} unchanged.",
                    messages.SUCCESS)
            return HttpResponseRedirect(change_url(connection))
    context = _context(modeladmin, request, connection, "Import mappings", form=form,
                       example='{"design": "21", "development": "34"}')
    return TemplateResponse(request, "admin/qbo_sync/connection/import_mappings.html", context)


def manual_sync_view(modeladmin: admin.ModelAdmin, request: HttpRequest,
                     connection: Connection) -> HttpResponse:
    """Start pushing existing contacts or invoices in the background."""
    initial = {"kind": request.GET.get("kind", "invoice")}
    form = ManualSyncForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            run = start_historical(connection, kind=data["kind"], since=data["since"],
                                   dry_run=data["dry_run"], user=request.user)
        except QBOSyncError as exc:
            form.add_error(None, explain(exc))
        else:
            what = "contacts" if data["kind"] == "contact" else "invoices"
            modeladmin.message_user(request, f"Sync of {what} started; this page shows its "
                                    "progress.", messages.SUCCESS)
            return HttpResponseRedirect(
                reverse("admin:qbo_sync_historicalrun_change", args=[run.pk]))
    context = _context(modeladmin, request, connection, "Sync existing records", form=form,
                       not_connected=not connection.is_connected)
    return TemplateResponse(request, "admin/qbo_sync/connection/manual_sync.html", context)
