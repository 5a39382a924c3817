from django.urls import path

from poplist.exchange import views

app_name = "exchange"

urlpatterns = [
    path("console/export/", views.tenant_export, name="tenant_export"),
    path("console/export/download/", views.tenant_export_download, name="tenant_export_download"),
]
