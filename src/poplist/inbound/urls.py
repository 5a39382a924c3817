from django.urls import path

from poplist.inbound import views

app_name = "inbound"

urlpatterns = [
    path("console/lists/<str:address>/held/", views.held, name="held"),
    path("console/lists/<str:address>/held/<int:held_id>/", views.held_message, name="held_message"),
    path("console/lists/<str:address>/filters/", views.filters, name="filters"),
]
