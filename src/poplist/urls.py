from django.contrib import admin
from django.urls import include, path

from poplist.api.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("poplist.web.urls")),
]

handler404 = "poplist.web.errors.not_found"
handler500 = "poplist.web.errors.server_error"
