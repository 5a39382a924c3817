from django.urls import path

from poplist.sites import views

app_name = "sites"

urlpatterns = [
    path("console/sites/", views.site_list, name="site_list"),
    path("console/sites/<str:name>/", views.site_page, name="site"),
    path("console/sites/<str:name>/deploy/", views.upload, name="upload"),
    path("console/sites/<str:name>/rollback/<int:number>/", views.rollback, name="rollback"),
    path("console/sites/<str:name>/domains/", views.add_domain, name="add_domain"),
    path("console/sites/<str:name>/domains/<str:host>/check/", views.check_domain, name="check_domain"),
    path("console/sites/<str:name>/domains/<str:host>/remove/", views.remove_domain, name="remove_domain"),
]
