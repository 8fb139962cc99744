"""QBO webhook endpoint (being built)."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def receive(request):  # pragma: no cover - placeholder until the pull work lands
    return HttpResponse(status=503)
