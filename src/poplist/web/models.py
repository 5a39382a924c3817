"""What the web pages keep of their own: CSV import jobs with their progress, and rate-limit counters."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from poplist.accounts.models import Tenant
from poplist.lists.models import MailingList


class ImportJob(models.Model):
    """An owner's CSV upload: stored first (nothing accepted is lost), then imported with its progress kept."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="web_import_jobs")
    actor = models.CharField(max_length=254, blank=True)
    filename = models.CharField(max_length=255)
    mode = models.CharField(max_length=16, default="direct")
    data = models.BinaryField()  # emptied once imported
    size = models.PositiveBigIntegerField(default=0)
    bytes_done = models.PositiveBigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    phase = models.CharField(max_length=16, blank=True)  # reading, saving
    report = models.JSONField(default=dict, blank=True)  # counts and the first rejected rows
    error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="web_import_due")]

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.bytes_done / self.size) if self.size else 0


class RateCounter(models.Model):
    """Requests per key (an IP, an address) in one time window; old windows are deleted as new ones start."""

    key = models.CharField(max_length=200)
    window = models.BigIntegerField()  # unix time // window length
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window"], name="rate_counter_unique")]
