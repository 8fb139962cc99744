"""URLs the host includes, e.g. ``path("qbo/", include("qbo_sync.urls"))``."""

from django.urls import path

from . import views

app_name = "qbo_sync"

urlpatterns = [
    path("connect/", views.connect, name="connect"),
    path("callback/", views.callback, name="callback"),
    path("disconnect/", views.disconnect, name="disconnect"),
    path("webhooks/", views.webhook, name="webhooks"),
    path("metrics/", views.prometheus_metrics, name="prometheus"),
]
