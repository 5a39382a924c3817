from django.urls import path

from poplist.bounces import views

app_name = "bounces"

urlpatterns = [
    path("console/lists/<str:address>/bounces/", views.list_bounces, name="list_bounces"),
    path("console/lists/<str:address>/bounces/reenable/", views.owner_reenable, name="owner_reenable"),
    path("host/bounces/", views.admin_rates, name="admin_rates"),
    path("bounces/reenable/<str:token>/", views.reenable_page, name="reenable"),
]
