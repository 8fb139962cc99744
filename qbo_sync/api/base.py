"""Shared parts of the API views: the workspace's connection, and errors that always
say what went wrong and what to do (docs/architecture.md, invariant 6)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, parsers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..exceptions import (
    ConfigurationError,
    ConnectError,
    MappingError,
    QBOSyncError,
    QBOValidationError,
    ReconnectRequired,
    SettingsError,
    TransientError,
)
from ..models import Connection
from .permissions import CanManageIntegration, request_workspace
from .serializers import ErrorSerializer

CONNECT_FIX = "Connect QuickBooks first: GET connect, then follow authorize_url."


class Problem(exceptions.APIException):
    """An API error with a fix."""

    def __init__(self, status_code: int, detail: str, *, fix: str = "", code: str = "",
                 errors: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.body: dict[str, Any] = {"detail": detail, "fix": fix, "code": code}
        if errors:
            self.body["errors"] = errors


def status_for(exc: QBOSyncError) -> int:
    """HTTP status for a service error, by how the caller must react."""
    if isinstance(exc, ReconnectRequired):
        return status.HTTP_409_CONFLICT
    if isinstance(exc, TransientError):
        return status.HTTP_503_SERVICE_UNAVAILABLE
    if isinstance(exc, (ConnectError, ConfigurationError, MappingError, QBOValidationError)):
        return status.HTTP_400_BAD_REQUEST
    return status.HTTP_502_BAD_GATEWAY


def problem_from(exc: QBOSyncError) -> Problem:
    errors = exc.errors if isinstance(exc, SettingsError) else None
    if errors is None and exc.element and isinstance(exc, ConfigurationError):
        errors = {exc.element: exc.message}
    return Problem(status_for(exc), exc.message or str(exc), fix=exc.fix,
                   code=exc.code or type(exc).__name__, errors=errors)


def _flatten(detail: Any, prefix: str = "") -> dict[str, str]:
    """DRF's error detail as ``{"field": "message"}``; nested fields (a mapping key
    inside ``mappings``) are named with dots, ``mappings.design``."""
    if isinstance(detail, dict):
        flat: dict[str, str] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(_flatten(value, name))
            elif isinstance(value, list) and any(isinstance(x, dict) for x in value):
                for i, item in enumerate(value):
                    flat.update(_flatten(item, f"{name}.{i}") if isinstance(item, dict)
                                else {f"{name}.{i}": str(item)})
            else:
                flat[name] = " ".join(str(x) for x in value) if isinstance(value, list) \
                    else str(value)
        return flat
    items = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": " ".join(str(x) for x in items)}


JSON_FIX = ("Send a JSON object with the header Content-Type: application/json; each "
            "endpoint's body is described in the OpenAPI schema.")


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with JSON nested too deeply for Python's parser (it raises
    ``RecursionError``, not ``ValueError``) refused as a parse error, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the JSON is nested too deeply.") \
                from None


#: The largest primary key every supported database stores (a signed 64-bit integer).
MAX_ID = 2**63 - 1


class AnyId:
    """Path converter for object ids: any one segment, checked by :func:`object_id`."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


def object_id(raw: object, what: str) -> int:
    """``raw`` as a primary key; anything else (text, 0, negative, past 64 bits) is the
    404 a missing ``what`` would be."""
    text = str(raw)
    value = int(text) if text.isascii() and text.isdigit() else 0
    if not 0 < value <= MAX_ID:
        raise Problem(status.HTTP_404_NOT_FOUND, f"No {what} {text[:40]!r} in this workspace.",
                      fix=f"Use the id of a {what} listed by this API.", code="not_found")
    return value


def has_body(request: Request) -> bool:
    """Whether the request came with a body at all (an empty one parses as ``{}``)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


def text_param(request: Request, name: str) -> str:
    """A query parameter as text, stripped; a NUL character is a 400 on every database
    (PostgreSQL cannot compare text holding one)."""
    value = request.query_params.get(name, "")
    if "\x00" in value:
        raise Problem(status.HTTP_400_BAD_REQUEST,
                      f"{name} contains a NUL character (\\x00).",
                      fix=f"Remove the NUL character (%00) from {name} and send it again.",
                      code="invalid", errors={name: "contains a NUL character"})
    return value.strip()


class QBOAPIView(APIView):
    """Base view: manage permission, the request's workspace, uniform error bodies."""

    permission_classes = [CanManageIntegration]

    def get_parsers(self) -> list[Any]:
        # The host's parsers, with DRF's JSON parser swapped for the one above.
        return [JSONParser() if type(p) is parsers.JSONParser else p
                for p in super().get_parsers()]

    @property
    def workspace(self) -> str:
        return request_workspace(self.request)

    def connection(self, *, required: bool = True) -> Connection | None:
        conn = Connection.objects.filter(workspace=self.workspace).first()
        if conn is None and required:
            raise Problem(status.HTTP_409_CONFLICT,
                          f"Workspace {self.workspace!r} has no QuickBooks connection.",
                          fix=CONNECT_FIX, code="not_connected")
        return conn

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, QBOSyncError):
            exc = problem_from(exc)
        elif isinstance(exc, exceptions.ValidationError):
            exc = Problem(status.HTTP_400_BAD_REQUEST, "The request is not valid.",
                          fix="Correct the fields named in 'errors' and send it again.",
                          code="invalid", errors=_flatten(exc.detail))
        elif isinstance(exc, exceptions.ParseError):
            exc = Problem(status.HTTP_400_BAD_REQUEST, f"The body cannot be read: {exc.detail}",
                          fix=JSON_FIX, code="parse_error")
        elif isinstance(exc, exceptions.UnsupportedMediaType):
            exc = Problem(exc.status_code, str(exc.detail), fix=JSON_FIX,
                          code="unsupported_media_type")
        if isinstance(exc, Problem):
            return Response(exc.body, status=exc.status_code)
        return super().handle_exception(exc)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """OpenAPI error responses, all with :class:`ErrorSerializer` bodies."""
    text = {
        400: "Invalid input or setting; the body says which field and how to fix it.",
        403: "Not signed in, or not an admin/manager of the workspace.",
        404: "Not found in this workspace.",
        409: "Not connected / needs reconnect / conflicting state.",
        415: "The body's Content-Type is not one this endpoint reads; send JSON.",
        502: "QuickBooks answered with an error.",
        503: "QuickBooks could not be reached; try again shortly.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=text[code]) for code in codes}
