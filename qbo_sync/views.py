"""OAuth views the host includes (``qbo_sync.urls``): connect, callback, disconnect.

Who may use them is the host's decision (``QBO_SYNC['PERMISSION_CHECK']``); which
workspace a request acts on comes from ``QBO_SYNC['WORKSPACE_RESOLVER']``.

Every view here is marked ``sensitive_variables()`` and ``sensitive_post_parameters()``:
the authorization code, tokens, the client secret and the webhook verifier are masked
in Django's error reports (docs/architecture.md, invariant 5); the services below hold
them as :class:`~qbo_sync.secrets.Secret` besides.
"""

from __future__ import annotations

import hmac

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from .conf import app_settings
from .connection import oauth
from .exceptions import QBOSyncError
from .models import Connection, OAuthState
from .permissions import can_manage, resolve_workspace
from .pull import webhooks


def _managed_workspace(request: HttpRequest) -> str:
    workspace = resolve_workspace(request)
    if not can_manage(request.user, workspace):
        raise PermissionDenied("You may not manage the QuickBooks connection.")
    return workspace


def _problem(request: HttpRequest, title: str, exc: QBOSyncError, status: int) -> HttpResponse:
    """A small page that says what went wrong and what to do; never a raw fault."""
    context = {
        "title": title,
        "message": exc.message or str(exc),
        "fix": exc.fix,
        "intuit_tid": exc.intuit_tid,
        "connect_url": reverse("qbo_sync:connect"),
        "done_url": resolve_url(app_settings.CONNECT_DONE_URL),
    }
    return render(request, "qbo_sync/connect_problem.html", context, status=status)


@sensitive_variables()
@sensitive_post_parameters()
@login_required
@require_GET
def connect(request: HttpRequest) -> HttpResponse:
    """Send the browser to Intuit's consent page for the request's workspace."""
    workspace = _managed_workspace(request)
    redirect_uri = app_settings.REDIRECT_URI or request.build_absolute_uri(
        reverse("qbo_sync:callback"))
    try:
        url = oauth.start_connect(workspace=workspace, user=request.user,
                                  redirect_uri=redirect_uri)
    except QBOSyncError as exc:  # ConfigurationError: keys or scopes missing
        return _problem(request, "QuickBooks is not set up", exc, status=500)
    return HttpResponseRedirect(url)


@sensitive_variables()
@sensitive_post_parameters()
@login_required
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Where Intuit sends the browser back (``code``, ``state``, ``realmId``)."""
    params = request.GET
    state = params.get("state", "")
    if "\x00" in state:  # no state has one, and PostgreSQL cannot compare it: 400, not 500
        return _problem(request, "QuickBooks was not connected", oauth.ConnectError(
            "The callback's state is not one this app made (it holds a NUL character)."), 400)
    started = OAuthState.objects.filter(state=state).first() if state else None
    if started is not None and not can_manage(request.user, started.workspace):
        raise PermissionDenied("You may not manage the QuickBooks connection.")
    try:
        connection = oauth.complete_connect(
            code=params.get("code", ""), state=state, realm_id=params.get("realmId") or None,
            user=request.user, params=params,
        )
    except oauth.ConnectCancelled as exc:
        return _problem(request, "Connection cancelled", exc, status=200)
    except oauth.ConnectError as exc:
        return _problem(request, "QuickBooks was not connected", exc, status=400)
    except QBOSyncError as exc:  # ConfigurationError: the app's keys are wrong
        return _problem(request, "QuickBooks is not set up", exc, status=500)
    company = connection.company_name or f"realm {connection.realm_id}"
    messages.success(request, f"Connected to QuickBooks company {company}.")
    return redirect(app_settings.CONNECT_DONE_URL)


@sensitive_variables()
@sensitive_post_parameters()
@login_required
@require_POST
def disconnect(request: HttpRequest) -> HttpResponse:
    """Revoke and forget the workspace's tokens (POST only, CSRF-protected)."""
    workspace = _managed_workspace(request)
    connection = get_object_or_404(Connection, workspace=workspace)
    oauth.disconnect(connection, user=request.user)
    messages.success(request, "QuickBooks disconnected. Synced records and history are kept.")
    return redirect(app_settings.CONNECT_DONE_URL)


@csrf_exempt
@sensitive_variables()
@sensitive_post_parameters()
@require_POST
def webhook(request: HttpRequest) -> HttpResponse:
    """QBO's webhook endpoint: refuse a body over ``WEBHOOK_MAX_BYTES`` (413) before
    reading it whole, verify the signature (401, nothing stored), store a signed
    delivery and answer at once; processing is queued (QBO wants a 200 within seconds,
    docs/qbo-rules.md §7.5). The body is read from the stream, at most one byte past
    the limit, never through ``request.body``."""
    status, message = webhooks.receive(request, request.headers,
                                       request.META.get("CONTENT_LENGTH"))
    return JsonResponse({"status": status, "message": message}, status=status)


@sensitive_variables("expected", "given", "header")
@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus scrape (README, "Metrics"): 404 unless ``PROMETHEUS_ENABLED``;
    401 unless the request bears ``Authorization: Bearer <PROMETHEUS_TOKEN>``. The
    token is compared in constant time and never logged or echoed."""
    if not app_settings.PROMETHEUS_ENABLED:
        raise Http404("The Prometheus endpoint is off (QBO_SYNC['PROMETHEUS_ENABLED']).")
    expected = str(app_settings.PROMETHEUS_TOKEN or "")
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if not (expected and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), expected.encode())):
        response = HttpResponse("A valid bearer token is required (PROMETHEUS_TOKEN).\n",
                                status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="qbo_sync metrics"'
        return response
    try:
        # prometheus-client is an optional extra: imported only once the endpoint is on.
        from .metrics.prometheus import render
        body, content_type = render()
    except ImportError:
        return HttpResponse("prometheus-client is not installed: pip install "
                            "'qbo-sync[prometheus]'.\n", status=503, content_type="text/plain")
    return HttpResponse(body, content_type=content_type)
