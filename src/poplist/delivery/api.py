"""REST endpoints for delivery jobs: list, show, pause, resume, cancel (another tenant's job is 404)."""

from __future__ import annotations

from datetime import date, datetime

from django.http import HttpRequest
from ninja import Router, Schema

from poplist.api.scope import require_writable, tenant_scope
from poplist.delivery import jobs as job_services
from poplist.delivery import queries
from poplist.lists.api import visible_list

PREFIX = "/jobs"
router = Router(tags=["delivery"])


class JobOut(Schema):
    id: int
    list: str
    kind: str
    status: str
    pause_reason: str
    total: int
    sent: int
    failed: int
    deferred: int
    pending: int
    rate: float
    eta_seconds: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_error: str


class DayOut(Schema):
    day: date
    sent: int
    failed: int
    deferred: int


def _visible(request: HttpRequest, job_id: int):
    return job_services.get_job(job_id, tenant_scope(request))


@router.get("", response=list[JobOut], summary="Delivery jobs with their progress (newest first)")
def list_jobs(request: HttpRequest, list: str | None = None, active: bool = False, limit: int = 50):
    mailing_list = visible_list(request, list) if list else None
    found = queries.jobs(
        tenant=tenant_scope(request), mailing_list=mailing_list, active_only=active, limit=min(max(limit, 1), 200)
    )
    return [queries.progress(job).as_dict() for job in found]


@router.get("/daily/{address}", response=list[DayOut], summary="Copies sent, failed and deferred per day for a list")
def daily(request: HttpRequest, address: str, since: date | None = None):
    return [
        {"day": d.day, "sent": d.sent, "failed": d.failed, "deferred": d.deferred}
        for d in queries.daily(visible_list(request, address), since)
    ]


@router.get("/{int:job_id}", response=JobOut, summary="One job's progress")
def show_job(request: HttpRequest, job_id: int):
    return queries.progress(_visible(request, job_id)).as_dict()


def _act(action, request: HttpRequest, job_id: int) -> dict:
    job = _visible(request, job_id)
    require_writable(request, job.mailing_list.tenant)
    action(job.pk, tenant=tenant_scope(request))
    job.refresh_from_db()
    return queries.progress(job).as_dict()


@router.post("/{int:job_id}/pause", response=JobOut, summary="Pause a job after the copies in flight")
def pause_job(request: HttpRequest, job_id: int):
    return _act(job_services.pause, request, job_id)


@router.post("/{int:job_id}/resume", response=JobOut, summary="Resume a paused job where it stopped")
def resume_job(request: HttpRequest, job_id: int):
    return _act(job_services.resume, request, job_id)


@router.post("/{int:job_id}/cancel", response=JobOut, summary="Send no more copies of a job")
def cancel_job(request: HttpRequest, job_id: int):
    return _act(job_services.cancel, request, job_id)
