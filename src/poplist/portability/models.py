"""What each migration from another list server did, and the settings still waiting for a home."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from poplist.accounts.models import Tenant
from poplist.lists.models import MailingList


class MigrationRun(models.Model):
    """One `poplist import-from SYSTEM …` of one list: its source and the full report of what was mapped."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="migration_runs")
    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="migration_runs")
    system = models.CharField(max_length=32)  # mailman2, mailman3, sympa, listmonk, mailchimp, google-groups
    source = models.CharField(max_length=500)  # the files or the URL read (never a password)
    source_list = models.CharField(max_length=254, blank=True)  # the list's name in the source system
    actor = models.CharField(max_length=254, blank=True)
    # mapped / unmapped / deferred settings, counts and the first rejected rows: see docs/importing.md.
    report = models.JSONField(default=dict)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["mailing_list", "started_at"], name="migration_run_by_list")]


class ImportedSetting(models.Model):
    """A source setting Poplist cannot apply yet (ban list, sender filters, header filters…).

    Kept per list so that nothing the customer configured is lost: when the domain that owns
    such a setting grows the feature, `portability.deferred` applies it (one function per key)
    and stamps `applied_at`.
    """

    mailing_list = models.ForeignKey(MailingList, on_delete=models.CASCADE, related_name="imported_settings")
    key = models.CharField(max_length=64)  # Poplist's name for it: banned_addresses, nonmember_hold, …
    system = models.CharField(max_length=32)
    source_key = models.CharField(max_length=200, blank=True)  # the source system's name for it
    value = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailing_list", "key"], name="imported_setting_unique_key"),
        ]
