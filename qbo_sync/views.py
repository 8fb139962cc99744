"""OAuth connect / callback / disconnect views (filled in by the OAuth work)."""
from django.http import HttpResponse


def connect(request):  # pragma: no cover - placeholder
    return HttpResponse(status=501)


callback = disconnect = connect
