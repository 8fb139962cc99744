"""Customer-import endpoints: start an import (a dry run answers at once, a real one is
queued) and follow a run (README "Customer import")."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from ..exceptions import ImportBusy
from ..imports.match import RULES
from ..imports.run import run_import, start_import
from ..models import Connection, ImportRun
from ..permissions import can_manage
from .base import Problem, QBOAPIView, errors, object_id
from .serializers import Flag, StrictSerializer, status_field
from .sync_views import PK

TAG = ["quickbooks customer import"]


class ImportRequestSerializer(StrictSerializer):
    workspace = serializers.CharField(required=False, max_length=100,
                                      help_text="Workspace key; default: the request's.")
    dry_run = Flag(required=False, default=False,
                   help_text="true: say per customer what would happen, change nothing.")
    match = serializers.ChoiceField(choices=list(RULES), required=False,
                                    help_text="email | name | both (email, then name); "
                                    "default: QBO_SYNC['IMPORT_MATCH'].")


class ImportRunSerializer(serializers.ModelSerializer):
    status = status_field(ImportRun.Status)
    percent = serializers.IntegerField(read_only=True)
    results = serializers.SerializerMethodField(
        help_text="Per customer: qbo_id, display_name, outcome (link | create | ambiguous "
        "| skip), contacts (the app's keys), note.")

    class Meta:
        model = ImportRun
        fields = ["id", "status", "trigger", "dry_run", "match", "total", "done", "percent",
                  "linked", "created", "ambiguous", "skipped", "calls", "results", "error",
                  "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_results(self, run: ImportRun) -> list[dict[str, str]]:
        keys = ("qbo_id", "display_name", "outcome", "contacts", "note")
        return [dict(zip(keys, row, strict=False)) for row in run.results]


class ImportCustomersView(QBOAPIView):
    @extend_schema(tags=TAG, summary="Import QuickBooks customers (a real run is queued)",
                   request=ImportRequestSerializer,
                   responses={202: ImportRunSerializer, **errors(400, 403, 409, 415)})
    def post(self, request: Request) -> Response:
        body = ImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        workspace = data.get("workspace") or self.workspace
        if workspace != self.workspace and not can_manage(request.user, workspace):
            # Another workspace's existence is not revealed (docs/architecture.md, 8).
            raise Problem(status.HTTP_400_BAD_REQUEST,
                          f"You may not import customers into workspace {workspace!r}.",
                          fix="Leave workspace out to use your current workspace, or send "
                          "one you manage.", code="invalid",
                          errors={"workspace": "not a workspace you manage"})
        conn = Connection.objects.filter(workspace=workspace).first()
        if conn is None:
            raise Problem(status.HTTP_409_CONFLICT,
                          f"Workspace {workspace!r} has no QuickBooks connection.",
                          fix="Connect QuickBooks first: GET connect, then follow "
                          "authorize_url.", code="not_connected")
        try:
            run = start_import(conn, match=data.get("match"), dry_run=data["dry_run"],
                               trigger="api", user=request.user, queue=not data["dry_run"])
        except ImportBusy as exc:
            raise Problem(status.HTTP_409_CONFLICT, exc.message, fix=exc.fix,
                          code="busy") from None
        if run.dry_run:
            # A dry run writes nothing and costs one read per 1,000 customers: done now.
            run = run_import(run)
        run.refresh_from_db()
        return Response(ImportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class ImportRunView(QBOAPIView):
    @extend_schema(tags=TAG, summary="One customer import: progress, counts, per customer",
                   parameters=PK, responses={200: ImportRunSerializer, **errors(403, 404)})
    def get(self, request: Request, pk: str) -> Response:
        run = ImportRun.objects.filter(pk=object_id(pk, "import run"),
                                       connection__workspace=self.workspace).first()
        if run is None:
            raise Problem(status.HTTP_404_NOT_FOUND, f"No import run {pk} in this workspace.")
        return Response(ImportRunSerializer(run).data)
