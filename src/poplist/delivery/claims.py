"""Who works on what: workers claim batches of a job's members under a lease.

On PostgreSQL a claim is `SELECT … FOR UPDATE SKIP LOCKED`, so any number of workers on any
number of machines take distinct batches; on SQLite every claim is one short `BEGIN IMMEDIATE`
transaction (one writer at a time). A batch whose lease ran out belongs to a dead worker and is
claimed again from its recorded cursor.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from poplist import config
from poplist.accounts.models import Tenant
from poplist.delivery.models import DeliveryBatch, DeliveryJob, DeliveryRetry
from poplist.lists.models import Member


def lease() -> timedelta:
    """How long a claim lasts without news; renewed at every commit of a window."""
    return timedelta(seconds=float(config.get("delivery_lease")))


OPEN = (DeliveryJob.Status.PENDING, DeliveryJob.Status.RUNNING)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def _skip_locked(queryset: QuerySet) -> QuerySet:
    if connection.vendor == "postgresql":
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def _locked(queryset: QuerySet) -> QuerySet:
    if connection.vendor == "postgresql":
        return queryset.select_for_update(of=("self",))
    return queryset


def recipients(job: DeliveryJob) -> QuerySet:
    """The members a job goes to (the partial index `member_delivery` serves regular delivery)."""
    return Member.objects.filter(
        mailing_list_id=job.mailing_list_id, role="member", status="enabled", delivery_mode=job.delivery_mode
    )


def claim_batch(worker: str | None = None) -> DeliveryBatch | None:
    """A batch for this worker: an abandoned one first, else a new one cut from the oldest open job."""
    worker = worker or worker_name()
    now = timezone.now()
    with transaction.atomic():
        abandoned = _skip_locked(
            DeliveryBatch.objects.filter(
                status__in=[DeliveryBatch.Status.PENDING, DeliveryBatch.Status.CLAIMED],
                lease_until__lte=now,
                job__status=DeliveryJob.Status.RUNNING,
                job__mailing_list__tenant__status=Tenant.Status.ACTIVE,
            ).order_by("lease_until", "id")
        ).first()
        if abandoned is not None:
            abandoned.status = DeliveryBatch.Status.CLAIMED
            abandoned.lease_until = now + lease()
            abandoned.worker = worker
            abandoned.attempts += 1
            abandoned.save(update_fields=["status", "lease_until", "worker", "attempts"])
            return abandoned
        # The job row is locked only for moments (a cut, a window's counters): wait for it rather than
        # skip it, or a second worker would find "nothing to do" while the job's counters are updated.
        job = _locked(
            DeliveryJob.objects.filter(
                status__in=OPEN, batched_all=False, mailing_list__tenant__status=Tenant.Status.ACTIVE
            ).order_by("created_at", "id")
        ).first()
        if job is None:
            return None
        return _cut(job, worker, now)


def _cut(job: DeliveryJob, worker: str, now) -> DeliveryBatch | None:
    if job.last_member_id is None:  # the first claim fixes who gets it: members up to now
        # (The count for `total` is left to count_total, out of this transaction: it took 0.4 s for a
        # million members on SQLite, during which no other worker could claim.)
        job.last_member_id = recipients(job).order_by("-id").values_list("id", flat=True).first() or 0
        job.started_at = now
    size = int(config.get("delivery_batch"))
    if not job.mailing_list.personalize:
        size *= 25  # engine.BULK_FACTOR: bulk transactions carry many members each
    ids = list(
        recipients(job)
        .filter(id__gt=job.cursor, id__lte=job.last_member_id)
        .order_by("id")
        .values_list("id", flat=True)[:size]
    )
    job.status = DeliveryJob.Status.RUNNING
    batch = None
    if ids:
        batch = DeliveryBatch.objects.create(
            job=job,
            after_id=job.cursor,
            upto_id=ids[-1],
            cursor=job.cursor,
            status=DeliveryBatch.Status.CLAIMED,
            lease_until=now + lease(),
            worker=worker,
            attempts=1,
        )
        job.cursor = ids[-1]
    if len(ids) < size:
        job.batched_all = True
    job.save(update_fields=["last_member_id", "total", "started_at", "status", "cursor", "batched_all"])
    if batch is None:
        finish_if_done(job.pk)
    return batch


def count_total(job: DeliveryJob) -> int:
    """Set a new job's `total` (0 until then) once its first batch is on the wire; returns the count."""
    total = recipients(job).filter(id__lte=job.last_member_id or 0).count()
    DeliveryJob.objects.filter(pk=job.pk, total=0, status__in=OPEN).update(total=total)
    return total


def finish_if_done(job_id: int) -> bool:
    """Mark a job done when every batch is done and no copy waits for a retry."""
    with transaction.atomic():
        job = _locked(DeliveryJob.objects.filter(pk=job_id)).first()
        if job is None or job.status != DeliveryJob.Status.RUNNING or not job.batched_all:
            return False
        if job.batches.exclude(status=DeliveryBatch.Status.DONE).exists() or job.retries.exists():
            return False
        job.status = DeliveryJob.Status.DONE
        job.finished_at = timezone.now()
        job.total = job.sent + job.failed
        job.save(update_fields=["status", "finished_at", "total"])
        return True


def sync_paused() -> int:
    """Suspended tenants' jobs wait; reactivated tenants' and relay-paused jobs whose time came resume."""
    now = timezone.now()
    with transaction.atomic():
        suspended = DeliveryJob.objects.filter(status__in=OPEN).exclude(
            mailing_list__tenant__status=Tenant.Status.ACTIVE
        )
        changed = suspended.update(status=DeliveryJob.Status.PAUSED, pause_reason=DeliveryJob.PauseReason.SUSPENDED)
        back = DeliveryJob.objects.filter(
            Q(pause_reason=DeliveryJob.PauseReason.SUSPENDED, mailing_list__tenant__status=Tenant.Status.ACTIVE)
            | Q(pause_reason=DeliveryJob.PauseReason.RELAY, resume_at__lte=now),
            status=DeliveryJob.Status.PAUSED,
        )
        changed += back.update(status=DeliveryJob.Status.RUNNING, pause_reason="", resume_at=None)
    return changed


def release(batch: DeliveryBatch, *, delay: timedelta = timedelta(0)) -> None:
    """Give a batch back (its job was paused, or the relay is down) from its recorded cursor."""
    DeliveryBatch.objects.filter(pk=batch.pk, worker=batch.worker).update(
        status=DeliveryBatch.Status.PENDING, lease_until=timezone.now() + delay, worker=""
    )


def claim_retries(limit: int = 200) -> list[DeliveryRetry]:
    """Due retries, pushed past the lease so that no other worker takes them meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        due = _skip_locked(
            DeliveryRetry.objects.filter(
                next_attempt_at__lte=now,
                job__status=DeliveryJob.Status.RUNNING,
                job__mailing_list__tenant__status=Tenant.Status.ACTIVE,
            ).order_by("next_attempt_at", "id")
        )[:limit]
        claimed = list(due)
        if claimed:
            DeliveryRetry.objects.filter(pk__in=[r.pk for r in claimed]).update(next_attempt_at=now + lease())
    return claimed
