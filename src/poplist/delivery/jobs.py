"""Delivery jobs: created by inbound when it accepts a post, worked through by `poplist worker`."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.archive.models import ArchivedMessage
from poplist.core.errors import Conflict, NotFound
from poplist.delivery.models import DeliveryJob, DigestItem
from poplist.lists.models import MailingList


def enqueue_post(
    mailing_list: MailingList, prepared: bytes, *, message_id: str, archived: ArchivedMessage | None = None
) -> DeliveryJob:
    """Queue a post for every member (and for the next digest); call inside the transaction that accepted it."""
    job, digest_item = post_rows(mailing_list, prepared, message_id=message_id, archived=archived)
    digest_item.save()
    job.save()
    return job


def post_rows(
    mailing_list: MailingList, prepared: bytes, *, message_id: str, archived: ArchivedMessage | None = None
) -> tuple[DeliveryJob, DigestItem]:
    """The rows `enqueue_post` saves, unsaved: inbound inserts a burst of posts' rows in bulk."""
    job = DeliveryJob(
        mailing_list=mailing_list,
        kind=DeliveryJob.Kind.POST,
        message=prepared,
        message_id=message_id[:998],
        archived=archived,
    )
    return job, DigestItem(mailing_list=mailing_list, message=prepared, size=len(prepared))


def get_job(job_id: int, tenant=None) -> DeliveryJob:
    jobs = DeliveryJob.objects.select_related("mailing_list")
    if tenant is not None:
        jobs = jobs.filter(mailing_list__tenant=tenant)
    job = jobs.filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("There is no delivery job %(id)s."), id=job_id)
    return job


def pause(job_id: int, *, tenant=None) -> DeliveryJob:
    """Stop a job after the window in flight; its members keep their place."""
    with transaction.atomic():
        job = get_job(job_id, tenant)
        if job.status not in (DeliveryJob.Status.PENDING, DeliveryJob.Status.RUNNING):
            raise Conflict(_("Job %(id)s is %(status)s and cannot be paused."), id=job_id, status=job.status)
        job.status = DeliveryJob.Status.PAUSED
        job.pause_reason = DeliveryJob.PauseReason.OWNER
        job.save(update_fields=["status", "pause_reason"])
    return job


def resume(job_id: int, *, tenant=None) -> DeliveryJob:
    """Resume a paused job where it stopped (a suspended tenant's jobs resume only on reactivation)."""
    with transaction.atomic():
        job = get_job(job_id, tenant)
        if job.status != DeliveryJob.Status.PAUSED:
            raise Conflict(_("Job %(id)s is %(status)s, not paused."), id=job_id, status=job.status)
        if not job.mailing_list.tenant.is_active:
            raise Conflict(_("Job %(id)s waits until its account is active again."), id=job_id)
        job.status = DeliveryJob.Status.RUNNING if job.started_at else DeliveryJob.Status.PENDING
        job.pause_reason = ""
        job.resume_at = None
        job.last_error = ""
        job.save(update_fields=["status", "pause_reason", "resume_at", "last_error"])
    return job


def cancel(job_id: int, *, tenant=None) -> DeliveryJob:
    """Send no more copies of this job; what went out stays counted."""
    with transaction.atomic():
        job = get_job(job_id, tenant)
        if job.status in (DeliveryJob.Status.DONE, DeliveryJob.Status.CANCELLED):
            raise Conflict(_("Job %(id)s is %(status)s already."), id=job_id, status=job.status)
        job.status = DeliveryJob.Status.CANCELLED
        job.finished_at = timezone.now()
        job.deferred = 0
        job.save(update_fields=["status", "finished_at", "deferred"])
        job.retries.all().delete()
    return job
