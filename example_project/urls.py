from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from example_project.billing import views as billing

urlpatterns = [
    path("admin/", admin.site.urls),
    path("workspace/", billing.workspace, name="workspace"),
    path("qbo/", include("qbo_sync.urls")),
    path("api/v3/integrations/quickbooks/", include("qbo_sync.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]
