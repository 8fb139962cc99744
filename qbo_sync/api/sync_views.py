"""Historical sync and Sync Health (sync logs) endpoints."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request, is_form_media_type
from rest_framework.response import Response

from ..models import HistoricalRun, SyncJob
from ..sync import history, outbox
from . import serializers as s
from .base import Problem, QBOAPIView, errors, has_body, object_id, text_param

TAG = ["quickbooks sync"]
#: The object id in the path, documented as the integer it is.
PK = [OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH)]


class HistoricalSyncView(QBOAPIView):
    kind = ""  # "contacts" | "invoices", set in urls.py

    @extend_schema(tags=TAG, summary="Start a historical sync (queued; dry_run only counts)",
                   request=s.HistoricalSyncRequestSerializer,
                   responses={202: s.HistoricalRunSerializer, **errors(400, 403, 409, 415)})
    def post(self, request: Request) -> Response:
        if has_body(request) and not request.data and is_form_media_type(
                request.content_type):
            # A form body that parsed to nothing (garbage multipart, a stray boundary) must
            # not fall back to the defaults: that would start a real run, not a dry run.
            raise Problem(status.HTTP_400_BAD_REQUEST,
                          "The body has no fields that could be read.",
                          fix='Send JSON such as {"dry_run": true, "since": "2026-01-01"} '
                          "with Content-Type: application/json, or no body at all for a "
                          "real run of everything.", code="invalid")
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
    @extend_schema(tags=TAG, summary="Progress of a historical sync", parameters=PK,
                   responses={200: s.HistoricalRunSerializer, **errors(403, 404)})
    def get(self, request: Request, pk: str) -> Response:
        run_id = object_id(pk, "sync run")
        run = HistoricalRun.objects.filter(pk=run_id,
                                           connection__workspace=self.workspace).first()
        if run is None:
            raise Problem(status.HTTP_404_NOT_FOUND, f"No sync run {pk} in this workspace.")
        return Response(s.HistoricalRunSerializer(run).data)


class LogPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


#: The days a date filter takes. The ends stay a day inside Python's date range, so
#: "the day after date_to" and the time-zone conversion of either end never overflow.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)


def _day(request: Request, name: str) -> date | None:
    """The date query parameter ``name``, or ``None`` when absent; a 400 naming it when
    it is not a day in :data:`FIRST_DAY` … :data:`LAST_DAY`."""
    value = text_param(request, name)
    if not value:
        return None
    try:
        day = parse_date(value)
        problem = "" if day is not None else "is not a date (YYYY-MM-DD)"
    except ValueError:  # well formed, but no such day: 2026-02-30
        day, problem = None, "is not a day of the calendar"
    if day is not None and not FIRST_DAY <= day <= LAST_DAY:
        problem = f"is outside {FIRST_DAY} to {LAST_DAY}"
    if problem:
        raise Problem(status.HTTP_400_BAD_REQUEST, f"{name} {value!r} {problem}.",
                      fix=f"Send {name} as a date from {FIRST_DAY} to {LAST_DAY}, like "
                      "2026-01-31.", code="invalid", errors={name: problem})
    return day


def _start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def choice_param(view: QBOAPIView, name: str, choices: type) -> str:
    value = text_param(view.request, name)
    allowed = [c.value for c in choices]
    if value and value not in allowed:
        raise Problem(status.HTTP_400_BAD_REQUEST, f"{name} {value!r} is not one of "
                      f"{', '.join(allowed)}.", fix=f"Send {name} as one of "
                      f"{', '.join(allowed)}, or leave it out.", code="invalid",
                      errors={name: f"must be one of {', '.join(allowed)}"})
    return value


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
        # Every parameter is checked before the query is built: a bad one is a 400 that
        # names it, never a database error (docs/architecture.md, invariant 6).
        wanted = {"status": choice_param(self, "status", SyncJob.Status),
                  "direction": choice_param(self, "direction", SyncJob.Direction),
                  "entity": text_param(self.request, "entity"),
                  "action": text_param(self.request, "action")}
        first, last = _day(self.request, "date_from"), _day(self.request, "date_to")
        if first and last and first > last:
            raise Problem(status.HTTP_400_BAD_REQUEST,
                          f"date_from {first} is after date_to {last}.",
                          fix="Swap them, or send date_from on or before date_to.",
                          code="invalid", errors={"date_from": "is after date_to"})
        text = text_param(self.request, "search")
        jobs = (SyncJob.objects.filter(workspace=self.workspace)
                .select_related("requested_by").order_by("-created_at", "-pk"))
        jobs = jobs.filter(**{name: value for name, value in wanted.items() if value})
        if first:
            jobs = jobs.filter(created_at__gte=_start(first))
        if last:
            jobs = jobs.filter(created_at__lt=_start(last + timedelta(days=1)))
        if text:
            jobs = jobs.filter(Q(error_message__icontains=text) | Q(object_id=text)
                               | Q(qbo_id=text))
        return jobs

    # Paginated, so not an array; the id stays what it was when the schema said "list".
    @extend_schema(tags=TAG, summary="Sync log (Sync Health), newest first",
                   operation_id="v3_integrations_quickbooks_sync_logs_list", parameters=FILTERS,
                   responses={200: s.SyncJobPageSerializer, **errors(400, 403, 404)})
    def get(self, request: Request) -> Response:
        paginator = LogPagination()
        jobs = self.filtered()
        try:
            page = paginator.paginate_queryset(jobs, request, view=self)
        except NotFound as exc:
            raise Problem(status.HTTP_404_NOT_FOUND, str(exc.detail),
                          fix="Send page as a number from 1 to the last page ('count' "
                          "divided by the page size), or leave it out.",
                          code="invalid_page", errors={"page": str(exc.detail)}) from None
        return paginator.get_paginated_response(s.SyncJobSerializer(page, many=True).data)


def _job(view: QBOAPIView, pk: str) -> SyncJob:
    # Another workspace's job is indistinguishable from a missing one (invariant 8).
    job = SyncJob.objects.filter(pk=object_id(pk, "sync job"), workspace=view.workspace).first()
    if job is None:
        raise Problem(status.HTTP_404_NOT_FOUND, f"No sync job {pk} in this workspace.")
    return job


class SyncLogDetailView(QBOAPIView):
    @extend_schema(tags=TAG, summary="One sync job with its attempts and masked payloads",
                   parameters=PK,
                   responses={200: s.SyncJobDetailSerializer, **errors(403, 404)})
    def get(self, request: Request, pk: str) -> Response:
        return Response(s.SyncJobDetailSerializer(_job(self, pk)).data)


class SyncLogRetryView(QBOAPIView):
    @extend_schema(tags=TAG, summary="Retry a failed, parked or skipped job now", request=None,
                   parameters=PK,
                   responses={202: s.SyncJobSerializer, **errors(403, 404, 409)})
    def post(self, request: Request, pk: str) -> Response:
        job = _job(self, pk)
        try:
            job = outbox.retry_job(job, user=request.user)
        except ValueError as exc:
            raise Problem(status.HTTP_409_CONFLICT, str(exc), code="not_retryable",
                          fix="Only failed, parked, skipped or pending jobs can be retried.",
                          ) from None
        return Response(s.SyncJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
