from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from skygallery.gallery.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
    path("api/openapi.json", RedirectView.as_view(url="/api/v1/openapi.json", permanent=False)),
    path(f"{settings.SKYGALLERY['COMPAT_PREFIX']}/".lstrip("/"), include("skygallery.compat.urls")),
    path("", include("skygallery.gallery.urls")),
]
