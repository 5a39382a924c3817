"""Outgoing mail: the queue of single messages (notices) and the local outbox."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from poplist.accounts.models import Tenant
from poplist.archive.models import ArchivedMessage
from poplist.lists.models import MailingList


class OutboundMessage(models.Model):
    """One message for a few recipients (a notice), queued in the same transaction as its cause."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENT = "sent"
        FAILED = "failed"

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.CASCADE)
    mailing_list = models.ForeignKey(MailingList, null=True, blank=True, on_delete=models.CASCADE)
    kind = models.CharField(max_length=64)
    mail_from = models.CharField(max_length=254)
    recipients = models.JSONField()
    raw = models.BinaryField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    # When it may next be tried; a worker that claims it pushes this forward (its lease).
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbound_due")]


class OutboxMessage(models.Model):
    """What would have gone to the relay when none is configured (`poplist outbox`)."""

    mail_from = models.CharField(max_length=254)
    recipients = models.JSONField()
    raw = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)


class DeliveryJob(models.Model):
    """Sending one post (or digest) to every member who should get it, resumable by member id.

    The job walks the list's members in id order up to `last_member_id` (the highest id when it was
    queued: members who join later do not get an older post). Workers cut the walk into
    `DeliveryBatch`es (`cursor` is the last member id handed to a batch).
    """

    class Kind(models.TextChoices):
        POST = "post"
        DIGEST = "digest"

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        PAUSED = "paused"
        DONE = "done"
        CANCELLED = "cancelled"
        FAILED = "failed"

    class PauseReason(models.TextChoices):
        NONE = ""
        OWNER = "owner"  # `poplist jobs pause`, the console, the API
        SUSPENDED = "suspended"  # the tenant is not active; resumes on reactivation
        RELAY = "relay"  # the relay was unreachable; resumes by itself at `resume_at`
        DKIM = "dkim"  # the signing key is missing or unreadable: nothing goes out unsigned

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="delivery_jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.POST)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    message = models.BinaryField()  # prepared once by inbound; see docs/architecture.md "From inbound to delivery"
    message_id = models.CharField(max_length=998, blank=True)
    archived = models.ForeignKey(ArchivedMessage, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Digest jobs: the delivery modes they go to (a post job goes to regular members).
    delivery_mode = models.CharField(max_length=16, default="regular")
    pause_reason = models.CharField(max_length=16, choices=PauseReason.choices, default="", blank=True)
    resume_at = models.DateTimeField(null=True, blank=True)
    last_member_id = models.BigIntegerField(null=True, blank=True)  # null: fixed at the first claim
    cursor = models.BigIntegerField(default=0)
    batched_all = models.BooleanField(default=False)
    total = models.PositiveBigIntegerField(default=0)  # an estimate until the walk ends
    sent = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    deferred = models.PositiveBigIntegerField(default=0)  # waiting in DeliveryRetry after a 4xx

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="job_status")]

    @property
    def pending(self) -> int:
        return max(self.total - self.sent - self.failed, 0)


class DeliveryBatch(models.Model):
    """Members (after_id, upto_id] of a job, claimed by one worker at a time under a lease.

    `cursor` moves forward only after the relay answered for every member up to it, in the same
    transaction as the job's counters: a worker killed at any moment loses only its unrecorded window.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        CLAIMED = "claimed"
        DONE = "done"

    job = models.ForeignKey(DeliveryJob, on_delete=models.CASCADE, related_name="batches")
    after_id = models.BigIntegerField()
    upto_id = models.BigIntegerField()
    cursor = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    lease_until = models.DateTimeField(default=timezone.now)
    worker = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["status", "lease_until"], name="batch_due")]


class DeliveryRetry(models.Model):
    """One member's copy refused with a 4xx (or lost with its connection): tried again with back-off."""

    job = models.ForeignKey(DeliveryJob, on_delete=models.CASCADE, related_name="retries")
    member_id = models.BigIntegerField()
    email = models.CharField(max_length=254)
    attempts = models.PositiveIntegerField(default=1)
    next_attempt_at = models.DateTimeField()
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["next_attempt_at"], name="retry_due")]
        constraints = [models.UniqueConstraint(fields=["job", "member_id"], name="retry_unique_member")]


class DeliveryDay(models.Model):
    """Copies sent and failed per list and day (UTC): bounce rates and the console's charts read this."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="delivery_days")
    day = models.DateField()
    sent = models.PositiveBigIntegerField(default=0)
    failed = models.PositiveBigIntegerField(default=0)
    deferred = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailing_list", "day"], name="delivery_day_unique")]


class DkimKey(models.Model):
    """A signing key of one sending domain (RSA-2048, optionally also Ed25519: both sign every copy)."""

    class Algorithm(models.TextChoices):
        RSA = "rsa-sha256"
        ED25519 = "ed25519-sha256"

    domain = models.CharField(max_length=253)
    selector = models.CharField(max_length=63)
    algorithm = models.CharField(max_length=16, choices=Algorithm.choices)
    private_key = models.TextField()  # PEM (PKCS#8)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["domain", "selector"], name="dkim_unique_selector")]


class DigestItem(models.Model):
    """Posts accumulated for a list's next digest (one row per archived post not yet sent in one)."""

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="digest_items")
    message = models.BinaryField()
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
