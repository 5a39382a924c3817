"""Static websites: sites, their hostnames, content-addressed blobs and deploys (docs/sites.md).

The database is the source of truth: a Blob holds a file's bytes once (keyed by its sha256),
whatever the number of deploys and sites that use it; a Deploy is a manifest (path -> blob);
`Site.live_deploy` is the pointer that a deploy or a rollback moves. Files on disk are caches.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone

from poplist.accounts.models import Tenant


def _new_key() -> str:
    return secrets.token_hex(8)


class Site(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sites")
    name = models.SlugField(max_length=63, unique=True)  # also the default hostname's first label
    live_deploy = models.ForeignKey(
        "Deploy", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    max_bytes = models.PositiveBigIntegerField(default=500 * 1024**2)  # total size of one deploy
    max_files = models.PositiveIntegerField(default=20_000)
    max_file_bytes = models.PositiveBigIntegerField(default=50 * 1024**2)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def _new_token() -> str:
    return secrets.token_hex(16)


class Hostname(models.Model):
    """A name the site answers to; unique across the whole instance (never two tenants' sites).

    A custom domain is served only once its owner proved it (`verified_at`): a DNS TXT record
    `_poplist-challenge.<name>` holding `token`, or a CNAME to the site's default hostname.
    Until then it is pending, and another site may claim it (docs/sites.md, "Custom domains").
    """

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="hostnames")
    name = models.CharField(max_length=253, unique=True)  # lower-case, IDNA A-label, no port
    is_default = models.BooleanField(default=False)
    token = models.CharField(max_length=64, default=_new_token)  # the TXT record's value
    verified_at = models.DateTimeField(null=True, blank=True)  # None: pending, not served
    checked_at = models.DateTimeField(null=True, blank=True)  # the last DNS check
    check_error = models.CharField(max_length=500, blank=True)  # what the last check found instead
    created_at = models.DateTimeField(default=timezone.now)

    @property
    def verified(self) -> bool:
        return self.verified_at is not None

    class Meta:
        ordering = ["-is_default", "name"]

    def __str__(self) -> str:
        return self.name


class Blob(models.Model):
    """One file's bytes, stored once. `gzip`/`brotli` are compressed once, when first stored (or empty)."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.PositiveBigIntegerField()
    content = models.BinaryField()
    gzip = models.BinaryField(null=True, blank=True)
    brotli = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)


class Deploy(models.Model):
    """A version of a site. `manifest` = {path: {"sha256", "size", "type"}}; immutable once ready."""

    class Status(models.TextChoices):
        PENDING = "pending"  # API deploy waiting for its blobs
        READY = "ready"
        FAILED = "failed"
        PRUNED = "pruned"  # past the deploys a site keeps (POPLIST_SITES_KEEP_DEPLOYS): history only

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="deploys")
    number = models.PositiveIntegerField()  # 1, 2, 3… per site
    # Names the deploy's folder in the disk cache: a database restored elsewhere, where ids are
    # reused, never mistakes another deploy's cached folder for this one.
    key = models.CharField(max_length=32, default=_new_key, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    manifest = models.JSONField(default=dict)
    file_count = models.PositiveIntegerField(default=0)
    total_bytes = models.PositiveBigIntegerField(default=0)
    source = models.CharField(max_length=16, default="cli")  # cli, api, web
    actor = models.CharField(max_length=254, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["site", "-number"]
        constraints = [models.UniqueConstraint(fields=["site", "number"], name="sites_deploy_number_unique")]

    def __str__(self) -> str:
        return f"{self.site_id}#{self.number}"


class Generation(models.Model):
    """One row, bumped in every transaction that changes what a hostname serves; servers poll it."""

    value = models.BigIntegerField(default=0)
