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
    """Sending one post (or digest) to every member who should get it, resumable by member id."""

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

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="job_status")]
