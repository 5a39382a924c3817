"""This instance's identity (named in every export) and its role for the standby."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


def _new_uuid() -> str:
    return str(uuid.uuid4())


class Instance(models.Model):
    """One row: who this instance is. Exports name it; a standby follows another one."""

    class Role(models.TextChoices):
        PRIMARY = "primary"
        STANDBY = "standby"  # read-only, follows `primary_url`

    uuid = models.CharField(max_length=36, default=_new_uuid)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PRIMARY)
    feed_enabled = models.BooleanField(default=False)  # `poplist standby enable`: change triggers installed
    # The generation of primaries: a promotion takes one more than any it has seen, so two nodes that both
    # think they are primary are told apart (the lower one is fenced, then demoted).
    epoch = models.BigIntegerField(default=1)
    pruned_through = models.BigIntegerField(default=0)  # every change up to this seq was pruned from the log
    created_at = models.DateTimeField(default=timezone.now)


def this_instance() -> Instance:
    found = Instance.objects.order_by("id").first()
    return found or Instance.objects.create()


class Change(models.Model):
    """One row written on the primary (table and primary key): the standby's change feed.

    Filled by database triggers (`exchange.changelog`), so every write is seen, including bulk
    imports and raw SQL; the feed sends each changed row's state as it is when the standby asks.
    """

    seq = models.BigAutoField(primary_key=True)
    tbl = models.CharField(max_length=100)
    row = models.CharField(max_length=100)  # the primary key, as text
    at = models.DateTimeField(null=True)
    # The tenant the row belonged to when it was written (null: a table no tenant feed carries). Kept here
    # because a deleted row no longer says whose it was; a tenant's feed is one range of (tenant_id, seq).
    tenant_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "exchange_change"
        indexes = [models.Index(fields=["tenant_id", "seq"], name="exchange_change_tenant_seq")]


class Follow(models.Model):
    """On a standby: which primary it follows and how far it has applied the feed (resumable)."""

    primary_url = models.CharField(max_length=500)
    tenant = models.CharField(max_length=63, blank=True)  # a tenant's live copy follows only this tenant's feed
    primary_instance = models.CharField(max_length=36, blank=True)  # the uuid the primary gave on the first page
    primary_epoch = models.BigIntegerField(default=0)  # the highest epoch it has shown
    applied_seq = models.BigIntegerField(default=0)
    applied_at = models.DateTimeField(null=True, blank=True)  # the primary's time of the last change applied
    caught_up_at = models.DateTimeField(null=True, blank=True)  # our time when the feed was last empty
    contact_at = models.DateTimeField(null=True, blank=True)  # our time of the last page from the primary
    # Measured on the last page that brought changes: from the oldest change's commit on the primary
    # to its commit here (the primary's clock for the first part: no clock skew).
    lag_seconds = models.FloatField(null=True, blank=True)
    snapshot_done = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True)


class Follower(models.Model):
    """On a primary: a standby that reads the feed, and the last change it acknowledged (for pruning the log)."""

    instance = models.CharField(max_length=36, unique=True)  # the standby's own uuid
    acked_seq = models.BigIntegerField(default=0)  # it asked for changes after this one: it holds them all
    seen_at = models.DateTimeField(default=timezone.now)
