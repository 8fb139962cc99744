"""The workspace switch: the only way to change which workspace a session acts on.

``GET /workspace/`` lists the user's workspaces; ``POST /workspace/`` with
``workspace=<slug>`` (CSRF-protected, like every POST) makes it the session's. A plain
GET anywhere, ``?workspace=`` included, never changes it (``qbo.workspace_for_request``).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from .qbo import SESSION_KEY, switch_workspace, workspace_for_request, workspaces_of


@login_required(login_url="admin:login")
@require_http_methods(["GET", "POST"])
def workspace(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        slug = switch_workspace(request, request.POST.get("workspace", ""))
        messages.success(request, f"You now work in workspace {slug!r}.")
        target = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
            return redirect(target)
        return redirect("workspace")
    try:
        current = workspace_for_request(request) if "workspace" not in request.GET else None
    except PermissionDenied as exc:
        current, problem = None, str(exc)
    else:
        problem = ""
    return render(request, "billing/workspace.html", {
        "title": "Choose a workspace",
        "workspaces": workspaces_of(request.user),
        "current": current,
        "chosen": request.session.get(SESSION_KEY),
        "problem": problem,
        "next": request.GET.get("next", ""),
    })
