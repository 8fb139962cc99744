"""The metrics endpoint: the workspace's sync metrics over a window
(:func:`qbo_sync.metrics.compute.workspace_metrics`; README, "Metrics")."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from ..metrics.compute import workspace_metrics
from ..metrics.windows import DEFAULT_WINDOW, WINDOWS, window_error
from .base import Problem, QBOAPIView, errors, text_param

WINDOW = OpenApiParameter("window", OpenApiTypes.STR, enum=list(WINDOWS),
                          description=f"The span the figures cover, ending now "
                          f"(default {DEFAULT_WINDOW}).")


class MetricsView(QBOAPIView):
    @extend_schema(tags=["quickbooks"], summary="Sync metrics over a window",
                   parameters=[WINDOW],
                   responses={200: OpenApiTypes.OBJECT, **errors(400, 403)})
    def get(self, request: Request) -> Response:
        name = text_param(request, "window") or DEFAULT_WINDOW
        problem = window_error(name)
        if problem:
            raise Problem(status.HTTP_400_BAD_REQUEST, f"The window {name[:40]!r} is not one "
                          "this endpoint knows.", fix=f"Send window as one of "
                          f"{', '.join(WINDOWS)}, or leave it out for {DEFAULT_WINDOW}.",
                          code="invalid", errors={"window": problem})
        return Response(workspace_metrics(self.workspace, name))
