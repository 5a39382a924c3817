from django.urls import path

from poplist.delivery import views

app_name = "delivery"

urlpatterns = [
    path("console/lists/<str:address>/jobs/", views.list_jobs, name="list_jobs"),
    path("console/lists/<str:address>/jobs/progress.json", views.jobs_progress, name="jobs_progress"),
    path(
        "console/lists/<str:address>/jobs/<int:job_id>/<str:action>/",
        views.job_action,
        name="job_action",
    ),
]
