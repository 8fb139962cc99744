"""Historical sync and Sync Health (sync logs) endpoints."""

from __future__ import annotations

from datetime import datetime, time

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import HistoricalRun, SyncJob
from ..sync import history, outbox
from . import serializers as s
from .base import Problem, QBOAPIView, errors

TAG = ["quickbooks sync"]


class HistoricalSyncView(QBOAPIView):
    kind = ""  # "contacts" | "invoices", set in urls.py

    @extend_schema(tags=TAG, summary="Start a historical sync (queued; dry_run only counts)",
                   request=s.HistoricalSyncRequestSerializer,
                   responses={202: s.HistoricalRunSerializer, **errors(400, 403, 409)})
    def post(self, request: Request) -> Response:
        body = s.HistoricalSyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        conn = self.connection()
        try:
            run = history.start_historical(
                conn, kind=self.kind, since=body.validated_data.get("since"),
                dry_run=body.validated_data["dry_run"], user=request.user)
        except history.HistoryBusy as exc:
            raise Problem(status.HTTP_409_CONFLICT, exc.message, fix=exc.fix,
                          code="busy") from None
        run.refresh_from_db()
        return Response(s.HistoricalRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class HistoricalRunView(QBOAPIView):
    @extend_schema(tags=TAG, summary="Progress of a historical sync",
                   responses={200: s.HistoricalRunSerializer, **errors(403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        run = HistoricalRun.objects.filter(pk=pk, connection__workspace=self.workspace).first()
        if run is None:
            raise Problem(status.HTTP_404_NOT_FOUND, f"No sync run {pk} in this workspace.")
        return Response(s.HistoricalRunSerializer(run).data)


class LogPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _day(value: str, name: str) -> datetime:
    day = parse_date(value)
    if day is None:
        raise Problem(status.HTTP_400_BAD_REQUEST, f"{name} must be a date (YYYY-MM-DD).",
                      fix=f"Send {name} like 2026-01-31.", errors={name: "not a date"})
    return timezone.make_aware(datetime.combine(day, time.min))


FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=[c.value for c in SyncJob.Status]),
    OpenApiParameter("entity", OpenApiTypes.STR,
                     enum=["contact", "invoice", "payment", "credit_memo", "refund"]),
    OpenApiParameter("action", OpenApiTypes.STR),
    OpenApiParameter("direction", OpenApiTypes.STR, enum=["push", "pull"]),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Created on or after."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Created on or before."),
    OpenApiParameter("search", OpenApiTypes.STR,
                     description="Error text, host object id or QuickBooks id."),
    OpenApiParameter("page", OpenApiTypes.INT),
    OpenApiParameter("page_size", OpenApiTypes.INT, description="At most 500."),
]


class SyncLogListView(QBOAPIView):
    def filtered(self) -> QuerySet[SyncJob]:
        params = self.request.query_params
        jobs = SyncJob.objects.filter(workspace=self.workspace).order_by("-created_at", "-pk")
        for name in ("status", "entity", "action", "direction"):
            if params.get(name):
                jobs = jobs.filter(**{name: params[name]})
        if params.get("date_from"):
            jobs = jobs.filter(created_at__gte=_day(params["date_from"], "date_from"))
        if params.get("date_to"):
            end = _day(params["date_to"], "date_to") + timezone.timedelta(days=1)
            jobs = jobs.filter(created_at__lt=end)
        text = params.get("search", "").strip()
        if text:
            jobs = jobs.filter(Q(error_message__icontains=text) | Q(object_id=text)
                               | Q(qbo_id=text))
        return jobs

    @extend_schema(tags=TAG, summary="Sync log (Sync Health), newest first",
                   parameters=FILTERS,
                   responses={200: s.SyncJobSerializer(many=True), **errors(400, 403)})
    def get(self, request: Request) -> Response:
        paginator = LogPagination()
        page = paginator.paginate_queryset(self.filtered(), request, view=self)
        return paginator.get_paginated_response(s.SyncJobSerializer(page, many=True).data)


def _job(view: QBOAPIView, pk: int) -> SyncJob:
    # Another workspace's job is indistinguishable from a missing one (invariant 8).
    job = SyncJob.objects.filter(pk=pk, workspace=view.workspace).first()
    if job is None:
        raise Problem(status.HTTP_404_NOT_FOUND, f"No sync job {pk} in this workspace.")
    return job


class SyncLogDetailView(QBOAPIView):
    @extend_schema(tags=TAG, summary="One sync job with its attempts and masked payloads",
                   responses={200: s.SyncJobDetailSerializer, **errors(403, 404)})
    def get(self, request: Request, pk: int) -> Response:
        return Response(s.SyncJobDetailSerializer(_job(self, pk)).data)


class SyncLogRetryView(QBOAPIView):
    @extend_schema(tags=TAG, summary="Retry a failed, parked or skipped job now", request=None,
                   responses={202: s.SyncJobSerializer, **errors(403, 404, 409)})
    def post(self, request: Request, pk: int) -> Response:
        job = _job(self, pk)
        try:
            job = outbox.retry_job(job, user=request.user)
        except ValueError as exc:
            raise Problem(status.HTTP_409_CONFLICT, str(exc), code="not_retryable",
                          fix="Only failed, parked, skipped or pending jobs can be retried.",
                          ) from None
        return Response(s.SyncJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
