from django.contrib.auth import views as auth_views
from django.urls import path

from poplist.web import admin_pages, archive_pages, console, members, preferences, public

app_name = "web"

urlpatterns = [
    path("", public.home, name="home"),
    path("language/", public.set_language, name="language"),
    # Public pages of a list
    path("lists/<str:address>/", public.list_page, name="list"),
    path("lists/<str:address>/leave/", public.leave_page, name="leave"),
    path("lists/<str:address>/preferences/", preferences.ask_link, name="preferences_ask"),
    path("preferences/<str:token>/", preferences.preferences_page, name="preferences"),
    path("confirm/<str:token>/", public.confirm_page, name="confirm"),
    path("u/<str:token>/", public.unsubscribe_page, name="unsubscribe"),
    path("u/<str:token>/confirm/", public.unsubscribe_confirm, name="unsubscribe_confirm"),
    # Archives (inbound writes these URLs into List-Archive and Archived-At: they never change)
    path("lists/<str:address>/archive/", archive_pages.index, name="archive_index"),
    path("lists/<str:address>/archive/search/", archive_pages.search, name="archive_search"),
    path("lists/<str:address>/archive/feed.atom", archive_pages.feed, name="archive_feed"),
    path("lists/<str:address>/archive/login/", archive_pages.login, name="archive_login"),
    path("archive-login/<str:token>/", archive_pages.login_done, name="archive_login_done"),
    path("lists/<str:address>/archive/all.mbox", archive_pages.mbox_all, name="archive_mbox_all"),
    path("lists/<str:address>/archive/<int:year>-<int:month>/", archive_pages.month, name="archive_month"),
    path(
        "lists/<str:address>/archive/<int:year>-<int:month>.mbox", archive_pages.mbox_month, name="archive_mbox_month"
    ),
    path("lists/<str:address>/archive/thread/<str:permalink>/", archive_pages.thread, name="archive_thread"),
    path(
        "lists/<str:address>/archive/<str:permalink>/attachments/<int:index>/",
        archive_pages.attachment,
        name="archive_attachment",
    ),
    path("lists/<str:address>/archive/<str:permalink>/raw/", archive_pages.raw, name="archive_raw"),
    path("lists/<str:address>/archive/<str:permalink>/", archive_pages.message, name="archive_message"),
    # Login
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html", next_page="/"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The owners' console
    path("console/", console.dashboard, name="dashboard"),
    path("console/lists/", console.list_index, name="list_index"),
    path("console/new-list/", console.create_list, name="create_list"),
    path("console/lists/<str:address>/", console.list_console, name="list_console"),
    path("console/lists/<str:address>/settings/", console.list_settings, name="settings"),
    path("console/lists/<str:address>/requests/", console.requests_page, name="requests"),
    path("console/lists/<str:address>/requests/<int:request_id>/", console.decide_request, name="decide_request"),
    path("console/lists/<str:address>/members/", members.members_page, name="members"),
    path("console/lists/<str:address>/members/remove/", members.remove_members, name="remove_members"),
    path("console/lists/<str:address>/members/export.csv", members.export_members, name="export_members"),
    path("console/lists/<str:address>/members/import/", members.import_page, name="import"),
    path("console/lists/<str:address>/members/import/<int:job_id>/", members.import_job, name="import_job"),
    path("console/lists/<str:address>/members/<str:email>/", members.member_page, name="member"),
    path("console/lists/<str:address>/suppressions/", members.suppressions_page, name="suppressions"),
    path(
        "console/lists/<str:address>/suppressions/<int:suppression_id>/lift/",
        members.lift_suppression,
        name="lift_suppression",
    ),
    # The host's admins
    path("host/tenants/", admin_pages.tenants, name="admin_tenants"),
    path("host/tenants/new/", admin_pages.create_tenant, name="admin_create_tenant"),
    path("host/tenants/<str:slug>/", admin_pages.tenant_page, name="admin_tenant"),
    path("host/tenants/<str:slug>/status/", admin_pages.change_status, name="admin_tenant_status"),
]
