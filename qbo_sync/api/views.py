"""Connection, settings, lists and mappings endpoints. Thin: each calls one service
(:mod:`qbo_sync.oauth`, :mod:`qbo_sync.configure`, :mod:`qbo_sync.lists`)."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.urls import NoReverseMatch, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from ..conf import app_settings
from ..connection import oauth
from ..connection import settings as configure
from ..connection.lists import ar_account_choices, deposit_account_choices, load_lists
from ..exceptions import ConfigurationError
from . import serializers as s
from .base import Problem, QBOAPIView, errors, has_body
from .permissions import CanManageCallbackWorkspace

TAG = ["quickbooks"]
REFRESH = OpenApiParameter("refresh", OpenApiTypes.BOOL, description="1: reload from "
                           "QuickBooks instead of the cached list.")


def _status(view: QBOAPIView) -> dict[str, Any]:
    summary = configure.status_summary(view.connection(required=False),
                                       workspace=view.workspace)
    # Decimal amounts as exact strings (DRF's JSON encoder would make them floats).
    summary["overdue"] = s.OverdueSerializer(summary["overdue"]).data
    return summary


class ConnectView(QBOAPIView):
    @extend_schema(tags=TAG, summary="Start connecting a QuickBooks company",
                   responses={200: s.ConnectSerializer, **errors(400, 403)})
    def get(self, request: Request) -> Response:
        redirect_uri = app_settings.REDIRECT_URI
        if not redirect_uri:
            try:
                redirect_uri = request.build_absolute_uri(reverse("qbo_sync:callback"))
            except NoReverseMatch:
                raise ConfigurationError(
                    "No OAuth redirect URI is known.", element="REDIRECT_URI",
                    fix="Set QBO_SYNC['REDIRECT_URI'], or include qbo_sync.urls.") from None
        url = oauth.start_connect(workspace=self.workspace, user=request.user,
                                  redirect_uri=redirect_uri)
        return Response({"authorize_url": url})


class CallbackView(QBOAPIView):
    permission_classes = [CanManageCallbackWorkspace]

    @extend_schema(tags=TAG, summary="Finish connecting (Intuit's callback parameters)",
                   request=s.CallbackSerializer,
                   responses={200: s.StatusSerializer, **errors(400, 403, 415)})
    def post(self, request: Request) -> Response:
        body = s.CallbackSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        params = {k: v for k, v in data.items() if v}
        conn = oauth.complete_connect(code=data.get("code", ""), state=data["state"],
                                      realm_id=data.get("realmId") or None,
                                      user=request.user, params=params)
        return Response(configure.status_summary(conn))


class StatusView(QBOAPIView):
    @extend_schema(tags=TAG, summary="Connection status and sync health",
                   responses={200: s.StatusSerializer, **errors(403)})
    def get(self, request: Request) -> Response:
        return Response(_status(self))


class DisconnectView(QBOAPIView):
    @extend_schema(tags=TAG, summary="Disconnect (revoke tokens, keep history)", request=None,
                   responses={200: s.StatusSerializer, **errors(403, 409)})
    def post(self, request: Request) -> Response:
        oauth.disconnect(self.connection(), user=request.user)
        return Response(_status(self))


class SettingsView(QBOAPIView):
    def _body(self) -> dict[str, Any]:
        conn = self.connection()
        context = {"missing_required": configure.missing_required(conn)}
        return s.SettingsSerializer(conn, context=context).data

    @extend_schema(tags=TAG, summary="Sync settings",
                   responses={200: s.SettingsSerializer, **errors(403, 409)})
    def get(self, request: Request) -> Response:
        return Response(self._body())

    @extend_schema(tags=TAG, summary="Change sync settings", request=s.SettingsUpdateSerializer,
                   responses={200: s.SettingsSerializer, **errors(400, 403, 409, 415, 503)})
    def patch(self, request: Request) -> Response:
        body = s.SettingsUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        configure.update_settings(self.connection(), user=request.user, **body.validated_data)
        return Response(self._body())


class _ListView(QBOAPIView):
    key = ""

    def rows(self, lists: dict[str, Any]) -> list[dict]:
        return lists[self.key]

    def get(self, request: Request) -> Response:
        refresh = request.query_params.get("refresh", "") in ("1", "true", "yes")
        lists = load_lists(self.connection(), refresh=refresh)
        return Response({"results": self.rows(lists), "fetched_at": lists["fetched_at"]})


class ItemsView(_ListView):
    key = "items"

    @extend_schema(tags=TAG, summary="QuickBooks items (Service / NonInventory)",
                   parameters=[REFRESH],
                   responses={200: s.ItemListSerializer, **errors(403, 409, 503)})
    def get(self, request: Request) -> Response:
        return super().get(request)


class TaxCodesView(_ListView):
    key = "tax_codes"

    @extend_schema(tags=TAG, summary="QuickBooks tax codes (TAX / NON in the US)",
                   parameters=[REFRESH],
                   responses={200: s.TaxCodeListSerializer, **errors(403, 409, 503)})
    def get(self, request: Request) -> Response:
        return super().get(request)


class AccountsView(_ListView):
    key = "accounts"

    def rows(self, lists: dict[str, Any]) -> list[dict]:
        purpose = self.request.query_params.get("purpose", "")
        choices = {"deposit": deposit_account_choices, "ar": ar_account_choices}.get(purpose)
        if choices is None:
            return lists["accounts"]
        by_id = {a["id"]: a for a in lists["accounts"]}
        return [by_id[i] for i, _ in choices(lists)]

    @extend_schema(tags=TAG, summary="QuickBooks accounts", parameters=[
        REFRESH, OpenApiParameter("purpose", OpenApiTypes.STR, enum=["deposit", "ar"],
                                  description="deposit: Bank + Other Current Asset, "
                                  "Undeposited Funds first; ar: Accounts Receivable.")],
        responses={200: s.AccountListSerializer, **errors(403, 409, 503)})
    def get(self, request: Request) -> Response:
        return super().get(request)


class _MappingsView(QBOAPIView):
    kind = ""

    def get(self, request: Request) -> Response:
        return Response({"mappings": configure.export_mappings(self.connection())[self.kind]})

    def put(self, request: Request) -> Response:
        example = '{"design": "21"}' if self.kind == "items" else '{"8.25": "TAX"}'
        if not has_body(request):
            # A PUT replaces every mapping: an empty request must not mean "delete all".
            raise Problem(status.HTTP_400_BAD_REQUEST, "The request has no body.",
                          fix=f"Send the mappings as a JSON object, e.g. {example}; send {{}} "
                          "to remove every mapping.", code="invalid")
        data = request.data
        if isinstance(data, QueryDict):
            data = data.dict()
        if not isinstance(data, dict):
            raise Problem(status.HTTP_400_BAD_REQUEST,
                          f"The body must be a JSON object, not {type(data).__name__}.",
                          fix=f"Send key → QuickBooks id pairs as an object, e.g. {example}, "
                          f'or {{"mappings": {example}}}.', code="invalid",
                          errors={"mappings": "must be an object"})
        # The bare export format ({"design": "21"}) is accepted as well as {"mappings": …}.
        if not isinstance(data.get("mappings"), dict):
            data = {"mappings": data}
        body = s.MappingsSerializer(data=data)
        body.is_valid(raise_exception=True)
        conn = self.connection()
        summary = configure.import_mappings(conn, user=request.user, kind=self.kind,
                                            data=body.validated_data["mappings"], replace=True)
        return Response({"mappings": configure.export_mappings(conn)[self.kind], **summary})


class ItemMappingsView(_MappingsView):
    kind = "items"

    @extend_schema(tags=TAG, summary="Category → QuickBooks item mappings",
                   responses={200: s.MappingsSerializer, **errors(403, 409)})
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(tags=TAG, summary="Replace the item mappings (all or nothing)",
                   request=s.MappingsSerializer,
                   responses={200: s.MappingsResultSerializer, **errors(400, 403, 409, 415, 503)})
    def put(self, request: Request) -> Response:
        return super().put(request)


class TaxMappingsView(_MappingsView):
    kind = "taxes"

    @extend_schema(tags=TAG, summary="Tax rate → QuickBooks tax code mappings",
                   responses={200: s.MappingsSerializer, **errors(403, 409)})
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(tags=TAG, summary="Replace the tax mappings (all or nothing)",
                   request=s.MappingsSerializer,
                   responses={200: s.MappingsResultSerializer, **errors(400, 403, 409, 415, 503)})
    def put(self, request: Request) -> Response:
        return super().put(request)
