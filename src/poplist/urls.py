from django.contrib import admin
from django.urls import include, path

from poplist.api.api import api
from poplist.core.discovery import domain_modules

# Each domain package's urls.py is included at the root; web's pages come last.
urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    *(path("", include(module)) for module in domain_modules("urls") if module.__name__ != "poplist.web.urls"),
    path("", include("poplist.web.urls")),
]

handler404 = "poplist.web.errors.not_found"
handler500 = "poplist.web.errors.server_error"
