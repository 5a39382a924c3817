"""The owners' page of a list's delivery jobs, with live progress (polled as JSON) and pause/resume/cancel."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from poplist.core.errors import Forbidden, NotFound, PoplistError
from poplist.delivery import jobs as job_services
from poplist.delivery import queries
from poplist.web.console import list_of

CONSOLE_TABS = [(gettext_lazy("Deliveries"), "delivery:list_jobs")]


def _sent_per_day(lists, since: date) -> dict[date, int]:
    return queries.sent_per_day(lists, since)


DASHBOARD_SERIES = [(gettext_lazy("Copies sent per day"), _sent_per_day)]


def _rows(mailing_list) -> list[dict]:
    return [queries.progress(job).as_dict() for job in queries.jobs(mailing_list=mailing_list, limit=30)]


@login_required
def list_jobs(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    return render(request, "delivery/jobs.html", {"list": mailing_list, "jobs": _rows(mailing_list)})


@login_required
def jobs_progress(request: HttpRequest, address: str) -> JsonResponse:
    """What the page's script polls every few seconds."""
    mailing_list = list_of(request, address)
    return JsonResponse({"jobs": _rows(mailing_list)})


@login_required
@require_POST
def job_action(request: HttpRequest, address: str, job_id: int, action: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    if not mailing_list.tenant.is_active:
        raise Forbidden(gettext_lazy("This account is not active: its deliveries cannot be changed."))
    act = {"pause": job_services.pause, "resume": job_services.resume, "cancel": job_services.cancel}[action]
    job = job_services.get_job(job_id, mailing_list.tenant)
    if job.mailing_list_id != mailing_list.pk:
        raise NotFound(gettext_lazy("There is no delivery job %(id)s."), id=job_id)
    try:
        act(job.pk, tenant=mailing_list.tenant)
    except PoplistError as exc:
        messages.error(request, str(exc))
    return redirect("delivery:list_jobs", address=mailing_list.address)
