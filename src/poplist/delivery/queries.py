"""Reads for the CLI, the console and the API: job progress with rate and ETA, daily figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime

from django.db.models import QuerySet
from django.utils import timezone

from poplist.delivery.models import DeliveryDay, DeliveryJob


@dataclass
class Progress:
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
    rate: float  # copies per second since it started
    eta_seconds: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    last_error: str

    def as_dict(self) -> dict:
        return asdict(self)


def progress(job: DeliveryJob, now: datetime | None = None) -> Progress:
    now = now or timezone.now()
    done = job.sent + job.failed
    end = job.finished_at or now
    elapsed = (end - job.started_at).total_seconds() if job.started_at else 0.0
    rate = done / elapsed if elapsed > 0 else 0.0
    pending = max(job.total - done, 0) if job.status not in ("done", "cancelled") else 0
    eta = int(pending / rate) if rate > 0 and pending and job.status == "running" else None
    return Progress(
        id=job.pk,
        list=job.mailing_list.address,
        kind=job.kind,
        status=job.status,
        pause_reason=job.pause_reason,
        total=job.total,
        sent=job.sent,
        failed=job.failed,
        deferred=job.deferred,
        pending=pending,
        rate=round(rate, 1),
        eta_seconds=eta,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        last_error=job.last_error,
    )


def jobs(*, tenant=None, mailing_list=None, active_only: bool = False, limit: int = 50) -> QuerySet:
    found = DeliveryJob.objects.select_related("mailing_list").defer("message").order_by("-created_at", "-id")
    if tenant is not None:
        found = found.filter(mailing_list__tenant=tenant)
    if mailing_list is not None:
        found = found.filter(mailing_list=mailing_list)
    if active_only:
        found = found.filter(status__in=["pending", "running", "paused"])
    return found[:limit]


def daily(mailing_list, since: date | None = None) -> list[DeliveryDay]:
    """Copies sent, failed and deferred per day (UTC) for one list."""
    days = DeliveryDay.objects.filter(mailing_list=mailing_list).order_by("day")
    if since:
        days = days.filter(day__gte=since)
    return list(days)


def sent_per_day(lists, since: date) -> dict[date, int]:
    """Copies sent per day over several lists (the dashboard's series)."""
    from django.db.models import Sum

    rows = DeliveryDay.objects.filter(mailing_list__in=lists, day__gte=since).values("day").annotate(n=Sum("sent"))
    return {row["day"]: row["n"] for row in rows}
