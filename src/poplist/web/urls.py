from django.contrib.auth import views as auth_views
from django.urls import path

from poplist.web import console, public

app_name = "web"

urlpatterns = [
    path("", public.home, name="home"),
    path("lists/<str:address>/", public.list_page, name="list"),
    path("lists/<str:address>/leave/", public.leave_page, name="leave"),
    path("confirm/<str:token>/", public.confirm_page, name="confirm"),
    path("u/<str:token>/", public.unsubscribe_page, name="unsubscribe"),
    path("u/<str:token>/confirm/", public.unsubscribe_confirm, name="unsubscribe_confirm"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("console/", console.dashboard, name="dashboard"),
    path("console/lists/<str:address>/", console.list_console, name="list_console"),
    path(
        "console/lists/<str:address>/requests/<int:request_id>/",
        console.decide_request,
        name="decide_request",
    ),
]
