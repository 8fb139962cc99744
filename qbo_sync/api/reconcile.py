"""Reconciliation endpoints: start a run, follow it, page through its differences
(filtered by kind and state) and repair or ignore one (docs/reconciliation.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from ..exceptions import ReconcileBusy, RepairNotPossible
from ..models import Difference, DifferenceKind, ReconciliationRun
from ..reconcile import repair as repairs
from ..reconcile.run import start_reconciliation
from .base import Problem, QBOAPIView, errors, object_id
from .serializers import StrictSerializer, SyncJobSerializer, status_field
from .sync_views import PK, LogPagination, choice_param

TAG = ["quickbooks reconciliation"]
ACTIONS = ["push", "accept", "link", "void", "ignore"]


class ReconcileRequestSerializer(StrictSerializer):
    since = serializers.DateField(required=False, allow_null=True,
                                  help_text="Only invoices issued on or after this date.")
    fix = serializers.ChoiceField(choices=["safe"], required=False, allow_blank=True,
                                  help_text='"safe": also queue the safe repairs.')


class ReconciliationRunSerializer(serializers.ModelSerializer):
    status = status_field(ReconciliationRun.Status)
    percent = serializers.IntegerField(read_only=True)
    found = serializers.IntegerField(read_only=True)
    calls_per_thousand = serializers.DecimalField(max_digits=12, decimal_places=1,
                                                  read_only=True, allow_null=True)
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True,
                                   help_text="Differences by kind (ignored ones left out).")

    class Meta:
        model = ReconciliationRun
        fields = ["id", "status", "trigger", "since", "fix", "total", "done", "percent",
                  "in_flight", "found", "counts", "ignored", "repaired", "calls",
                  "calls_per_thousand", "error", "created_at", "started_at", "finished_at"]
        read_only_fields = fields


class DifferenceSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text=" | ".join(DifferenceKind.values))
    state = status_field(Difference.State)
    app_value = serializers.DictField(read_only=True)
    qbo_value = serializers.DictField(read_only=True)
    repairs = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Difference
        fields = ["id", "run", "kind", "entity", "object_id", "label", "qbo_id", "explanation",
                  "app_value", "qbo_value", "repairs", "safe_repair", "state", "resolution",
                  "resolved_at"]
        read_only_fields = fields


class DifferencePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DifferenceSerializer(many=True)


class RepairRequestSerializer(StrictSerializer):
    # A plain string with the values documented: a second enum named "action" (the sync
    # log has one) would make the schema generator invent a name for it.
    action = serializers.CharField(help_text="One of the difference's repairs: "
                                   + " | ".join(ACTIONS))
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                   help_text="Why it is ignored (required for ignore).")

    def validate_action(self, value: str) -> str:
        if value not in ACTIONS:
            raise serializers.ValidationError(f"must be one of {', '.join(ACTIONS)}")
        return value


class RepairResponseSerializer(serializers.Serializer):
    difference = DifferenceSerializer()
    jobs = SyncJobSerializer(many=True)


def _run(view: QBOAPIView, pk: str) -> ReconciliationRun:
    # Another workspace's run is indistinguishable from a missing one (invariant 8).
    run = ReconciliationRun.objects.filter(pk=object_id(pk, "reconciliation run"),
                                           connection__workspace=view.workspace).first()
    if run is None:
        raise Problem(status.HTTP_404_NOT_FOUND, f"No reconciliation run {pk} in this "
                      "workspace.")
    return run


class ReconcileView(QBOAPIView):
    @extend_schema(tags=TAG, summary="Start a reconciliation (queued)",
                   request=ReconcileRequestSerializer,
                   responses={202: ReconciliationRunSerializer, **errors(400, 403, 409, 415)})
    def post(self, request: Request) -> Response:
        body = ReconcileRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = start_reconciliation(self.connection(), trigger="api", user=request.user,
                                       since=body.validated_data.get("since"),
                                       fix=body.validated_data.get("fix") or "")
        except ReconcileBusy as exc:
            raise Problem(status.HTTP_409_CONFLICT, exc.message, fix=exc.fix,
                          code="busy") from None
        run.refresh_from_db()
        return Response(ReconciliationRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ReconcileRunView(QBOAPIView):
    @extend_schema(tags=TAG, summary="One reconciliation run: progress, counts, cost",
                   parameters=PK, responses={200: ReconciliationRunSerializer,
                                             **errors(403, 404)})
    def get(self, request: Request, pk: str) -> Response:
        return Response(ReconciliationRunSerializer(_run(self, pk)).data)


class DifferenceListView(QBOAPIView):
    @extend_schema(tags=TAG, summary="A run's differences, filtered and paginated",
                   parameters=[*PK, OpenApiParameter("kind", OpenApiTypes.STR,
                                                     enum=list(DifferenceKind.values)),
                               OpenApiParameter("state", OpenApiTypes.STR,
                                                enum=list(Difference.State.values)),
                               OpenApiParameter("page", OpenApiTypes.INT),
                               OpenApiParameter("page_size", OpenApiTypes.INT)],
                   responses={200: DifferencePageSerializer, **errors(400, 403, 404)})
    def get(self, request: Request, pk: str) -> Response:
        run = _run(self, pk)
        wanted = {"kind": choice_param(self, "kind", DifferenceKind),
                  "state": choice_param(self, "state", Difference.State)}
        rows = run.differences.filter(**{k: v for k, v in wanted.items() if v}).order_by("pk")
        paginator = LogPagination()
        try:
            page = paginator.paginate_queryset(rows, request, view=self)
        except NotFound as exc:
            raise Problem(status.HTTP_404_NOT_FOUND, str(exc.detail),
                          fix="Send page as a number from 1 to the last page, or leave it "
                          "out.", code="invalid_page", errors={"page": str(exc.detail)}) \
                from None
        return paginator.get_paginated_response(DifferenceSerializer(page, many=True).data)


class DifferenceRepairView(QBOAPIView):
    @extend_schema(tags=TAG, summary="Repair or ignore one difference",
                   request=RepairRequestSerializer, parameters=PK,
                   responses={202: RepairResponseSerializer, **errors(400, 403, 404, 409, 415)})
    def post(self, request: Request, pk: str) -> Response:
        diff = Difference.objects.filter(pk=object_id(pk, "difference"),
                                         connection__workspace=self.workspace).first()
        if diff is None:
            raise Problem(status.HTTP_404_NOT_FOUND, f"No difference {pk} in this workspace.")
        body = RepairRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        try:
            jobs = repairs.repair(diff, data["action"], user=request.user,
                                  reason=data.get("reason", ""))
        except RepairNotPossible as exc:
            raise Problem(status.HTTP_409_CONFLICT, exc.message, fix=exc.fix,
                          code="not_repairable") from None
        for job in jobs:
            job.refresh_from_db()
        diff.refresh_from_db()
        return Response({"difference": DifferenceSerializer(diff).data,
                         "jobs": SyncJobSerializer(jobs, many=True).data},
                        status=status.HTTP_202_ACCEPTED)
