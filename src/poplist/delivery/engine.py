"""Sending a claimed batch: render each window of copies, send it, record the relay's answers.

A member's copy is recorded as sent only after the relay's 250 for it. Progress (the batch's
cursor, the job's counters, retries, bounces, the day's figures) is committed once per window
of `delivery_window` copies: a worker killed at any moment leaves at most one window sent but
unrecorded, which the next claim sends again (docs/architecture.md, "Delivery engine").
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from poplist import config
from poplist.bounces.services import record_delivery_failure
from poplist.core.errors import PoplistError
from poplist.delivery import claims
from poplist.delivery.keys import signers_for
from poplist.delivery.models import DeliveryBatch, DeliveryDay, DeliveryJob, DeliveryRetry
from poplist.delivery.render import Copy, PreparedPost
from poplist.delivery.services import backoff
from poplist.delivery.transport import Envelope, Result, Transport

log = logging.getLogger(__name__)

# In bulk mode a transaction carries up to `bulk_recipients` members: windows and batches hold this
# many times more members, so commits stay as rare per transaction as in personal mode.
BULK_FACTOR = 25


class Prepared:
    """PreparedPost per job, kept by a worker while it works on the job (one entry: jobs are sent in turn)."""

    def __init__(self) -> None:
        self.job_id: int | None = None
        self.post: PreparedPost | None = None

    def get(self, job: DeliveryJob) -> PreparedPost:
        if self.job_id != job.pk or self.post is None:
            self.post = PreparedPost(job.mailing_list, bytes(job.message), signers_for(job.mailing_list.domain.name))
            self.job_id = job.pk
        return self.post


def run_once(transport: Transport, prepared: Prepared | None = None, worker: str | None = None) -> int:
    """Claim one batch and send it; returns the copies handled (0: nothing to do)."""
    batch = claims.claim_batch(worker)
    if batch is None:
        return 0
    return send_batch(batch, transport, prepared or Prepared())


def send_batch(batch: DeliveryBatch, transport: Transport, prepared: Prepared) -> int:
    job = DeliveryJob.objects.select_related("mailing_list__domain", "mailing_list__tenant").get(pk=batch.job_id)
    try:
        post = prepared.get(job)
    except PoplistError as exc:  # a corrupt or missing key: stop before anything leaves unsigned
        _pause(job, DeliveryJob.PauseReason.DKIM, str(exc))
        claims.release(batch)
        return 0
    bulk = not job.mailing_list.personalize
    window = int(config.get("delivery_window")) * (BULK_FACTOR if bulk else 1)
    handled = 0
    members = list(
        claims.recipients(job)
        .filter(id__gt=batch.cursor, id__lte=batch.upto_id)
        .order_by("id")
        .values_list("id", "email")
    )
    chunks = [members[i : i + window] for i in range(0, len(members), window)]
    render = (lambda chunk: _bulk(post, chunk)) if bulk else (lambda chunk: [post.personal(m, e) for m, e in chunk])
    # The next window is rendered and signed while this one is on the wire; it is handed to the
    # transport only after this one is recorded, so at most one window is ever sent but unrecorded.
    copies = render(chunks[0]) if chunks else []
    for number, chunk in enumerate(chunks):
        pending = _submit(transport, [Envelope(c.mail_from, c.recipients, c.data) for c in copies])
        if number == 0 and batch.after_id == 0 and not job.total:
            claims.count_total(job)  # the job's first batch: count its members while the relay works
        following = render(chunks[number + 1]) if number + 1 < len(chunks) else []
        results = pending()
        if getattr(transport, "unreachable", False) and not any(_answered(r) for r in results):
            _pause(job, DeliveryJob.PauseReason.RELAY, "relay unreachable", resume_in=_relay_delay(batch))
            claims.release(batch)
            return handled
        go_on = record_window(batch, job, chunk[-1][0], copies, results)
        handled += len(chunk)
        if not go_on:
            claims.release(batch)
            return handled
        copies = following
    DeliveryBatch.objects.filter(pk=batch.pk, worker=batch.worker).update(status=DeliveryBatch.Status.DONE)
    claims.finish_if_done(job.pk)
    return max(handled, 1)


def _submit(transport: Transport, envelopes: list[Envelope]):
    """Start sending; returns a function that waits for the results (at once for transports without a pool)."""
    submit = getattr(transport, "submit", None)
    if submit is None:
        results = transport.send_many(envelopes)
        return lambda: results
    return submit(envelopes)


def _bulk(post: PreparedPost, chunk: list[tuple[int, str]]) -> list[Copy]:
    """One copy per destination domain and at most `bulk_recipients` RCPT per transaction."""
    per_domain: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for member in chunk:
        per_domain[member[1].rpartition("@")[2].lower()].append(member)
    most = int(config.get("bulk_recipients"))
    return [post.bulk(group[i : i + most]) for group in per_domain.values() for i in range(0, len(group), most)]


def _answered(result: Result) -> bool:
    return any(code >= 500 or 200 <= code < 300 for code, _ in result.replies.values())


def _relay_delay(batch: DeliveryBatch) -> timedelta:
    return timedelta(seconds=min(5 * 2 ** min(batch.attempts, 8), 600))


def _pause(job: DeliveryJob, reason: str, error: str, resume_in: timedelta | None = None) -> None:
    DeliveryJob.objects.filter(pk=job.pk, status__in=claims.OPEN).update(
        status=DeliveryJob.Status.PAUSED,
        pause_reason=reason,
        last_error=error[:2000],
        resume_at=timezone.now() + resume_in if resume_in else None,
    )
    log.warning("job %s paused (%s): %s", job.pk, reason, error)


def record_window(
    batch: DeliveryBatch, job: DeliveryJob, last_id: int, copies: list[Copy], results: list[Result]
) -> bool:
    """Commit one window's outcome; False when the worker must stop (job paused or batch taken over)."""
    now = timezone.now()
    sent, failed, deferred = [], [], []
    for copy, result in zip(copies, results, strict=True):
        for member_id, email in zip(copy.member_ids, copy.recipients, strict=True):
            code, text = result.replies.get(email, (451, "4.4.2 no answer"))
            if 200 <= code < 300:
                sent.append(member_id)
            elif code >= 500:
                failed.append((member_id, email, code, text))
            else:
                deferred.append((member_id, email, code, text))
    with transaction.atomic():
        mine = DeliveryBatch.objects.filter(pk=batch.pk, worker=batch.worker, status=DeliveryBatch.Status.CLAIMED)
        if not mine.update(cursor=last_id, lease_until=now + claims.lease()):
            log.warning("batch %s was taken over by another worker; stopping", batch.pk)
            return False
        DeliveryRetry.objects.bulk_create(
            [
                DeliveryRetry(
                    job_id=job.pk, member_id=m, email=e, next_attempt_at=now + backoff(1), last_error=f"{c} {t}"[:500]
                )
                for m, e, c, t in deferred
            ],
            ignore_conflicts=True,
        )
        for member_id, email, code, text in failed:
            record_delivery_failure(job.mailing_list, member_id, email, code, text, job_id=job.pk)
        _count(job, sent=len(sent), failed=len(failed), deferred=len(deferred), now=now)
        status = DeliveryJob.objects.values_list("status", flat=True).get(pk=job.pk)
    return status == DeliveryJob.Status.RUNNING


def _count(job: DeliveryJob, *, sent: int, failed: int, deferred: int, now, waiting: int | None = None) -> None:
    """Add to the job's counters (`waiting`: change of copies waiting for a retry) and to the day's figures."""
    waiting = deferred if waiting is None else waiting
    DeliveryJob.objects.filter(pk=job.pk).update(
        sent=F("sent") + sent, failed=F("failed") + failed, deferred=F("deferred") + waiting
    )
    if not (sent or failed or deferred):
        return
    day = now.date()
    updated = DeliveryDay.objects.filter(mailing_list_id=job.mailing_list_id, day=day).update(
        sent=F("sent") + sent, failed=F("failed") + failed, deferred=F("deferred") + deferred
    )
    if not updated:
        try:
            with transaction.atomic():
                DeliveryDay.objects.create(
                    mailing_list_id=job.mailing_list_id, day=day, sent=sent, failed=failed, deferred=deferred
                )
        except IntegrityError:  # another worker created the day's row meanwhile
            DeliveryDay.objects.filter(mailing_list_id=job.mailing_list_id, day=day).update(
                sent=F("sent") + sent, failed=F("failed") + failed, deferred=F("deferred") + deferred
            )


def send_retries(transport: Transport, prepared: Prepared | None = None) -> int:
    """Try again the copies a 4xx deferred; past `retry_days` they count as bounces."""
    due = claims.claim_retries(int(config.get("delivery_window")))
    if not due:
        return 0
    prepared = prepared or Prepared()
    by_job: dict[int, list[DeliveryRetry]] = defaultdict(list)
    for retry in due:
        by_job[retry.job_id].append(retry)
    max_age = timedelta(days=float(config.get("retry_days")))
    for job_id, retries in by_job.items():
        job = DeliveryJob.objects.select_related("mailing_list__domain").get(pk=job_id)
        try:
            post = prepared.get(job)
        except PoplistError as exc:
            _pause(job, DeliveryJob.PauseReason.DKIM, str(exc))
            continue
        copies = [post.personal(r.member_id, r.email) for r in retries]
        results = transport.send_many([Envelope(c.mail_from, c.recipients, c.data) for c in copies])
        now = timezone.now()
        with transaction.atomic():
            sent = failed = 0
            for retry, result in zip(retries, results, strict=True):
                code, text = result.replies.get(retry.email, (451, "4.4.2 no answer"))
                if 200 <= code < 300:
                    sent += 1
                    retry.delete()
                elif code >= 500 or now - retry.created_at > max_age:
                    failed += 1
                    record_delivery_failure(job.mailing_list, retry.member_id, retry.email, code, text, job_id=job.pk)
                    retry.delete()
                else:
                    retry.attempts += 1
                    retry.next_attempt_at = now + backoff(retry.attempts)
                    retry.last_error = f"{code} {text}"[:500]
                    retry.save(update_fields=["attempts", "next_attempt_at", "last_error"])
            _count(job, sent=sent, failed=failed, deferred=0, waiting=-(sent + failed), now=now)
        claims.finish_if_done(job.pk)
    return len(due)
