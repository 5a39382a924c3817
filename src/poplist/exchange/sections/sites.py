"""Sites: each site with its hostnames and every deploy (its manifest), and the files as uploaded.

Files are content-addressed: `sites/blobs/<sha256>` holds each file's bytes once, whatever the
number of deploys using it; a deploy's `manifest` maps each path to its sha256. The gzip and
brotli variants are derived, so the export only says which exist and the import recomputes them.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput
from poplist.exchange.format import Reader, Writer
from poplist.exchange.records import ModelSpec, bulk_insert, export_rows, to_values
from poplist.exchange.registry import ImportContext
from poplist.exchange.sections.models import ModelSection
from poplist.sites import blobs as site_blobs
from poplist.sites import cache
from poplist.sites.models import Blob, Deploy, Generation, Hostname, Site

SITE = {"site": ("site__name", "site_id")}
SITES = ModelSpec(
    Site, "sites.jsonl", lambda t: Site.objects.filter(tenant=t), refs={"live_deploy": ("live_deploy__number", "")}
)
ROWS = ModelSection(
    name="sites-rows",
    order=0,
    specs=[
        ModelSpec(Hostname, "hostnames.jsonl", lambda t: Hostname.objects.filter(site__tenant=t), refs=SITE),
        ModelSpec(Deploy, "deploys.jsonl", lambda t: Deploy.objects.filter(site__tenant=t), refs=SITE),
    ],
)
BLOB_FIELDS = ("sha256", "size", "created_at")
BLOB = ModelSpec(Blob, "", lambda t: None, exclude={"content", "gzip", "brotli"})


def _tenant_blobs(tenant) -> list[str]:
    """The sha256 of every file of every deploy of the tenant's sites, sorted (manifests are small)."""
    found: set[str] = set()
    for manifest in Deploy.objects.filter(site__tenant=tenant).values_list("manifest", flat=True).iterator():
        found.update(entry["sha256"] for entry in (manifest or {}).values() if "sha256" in entry)
    return sorted(found)


class SitesSection:
    name = "sites"
    order = 40
    feed_specs = [SITES, *ROWS.specs, BLOB]  # blobs: those the tenant's deploys use (exchange.tenantfeed)

    def count(self, tenant: Any) -> int:
        return Site.objects.filter(tenant=tenant).count() + ROWS.count(tenant) + len(_tenant_blobs(tenant))

    def export(self, writer: Writer, tenant: Any, folder: str) -> None:
        path = f"{folder}/sites.jsonl"
        writer.touch(path)
        for record in export_rows(SITES, tenant, writer.include_secrets):
            writer.record(path, record)
        ROWS.export(writer, tenant, folder)
        index = f"{folder}/sites/blobs.jsonl"
        writer.touch(index)
        shas = _tenant_blobs(tenant)
        for start in range(0, len(shas), 100):
            rows = Blob.objects.filter(sha256__in=shas[start : start + 100]).order_by("sha256")
            for blob in rows.values_list(*BLOB_FIELDS, "content", "gzip", "brotli"):
                record = dict(zip(BLOB_FIELDS, blob[:3], strict=True))
                record.update(gzip=blob[4] is not None, brotli=blob[5] is not None)
                writer.record(index, record)
                writer.write_file(f"{folder}/sites/blobs/{record['sha256']}", bytes(blob[3]))

    def import_(self, reader: Reader, folder: str, ctx: ImportContext) -> None:
        path = f"{folder}/sites.jsonl"
        live: dict[str, int] = {}
        sites = []
        for record in reader.records(path):
            values = to_values(SITES, record, path)
            values["tenant_id"] = ctx.tenant.pk
            if record.get("live_deploy") is not None:
                live[values["name"]] = record["live_deploy"]
            sites.append(Site(**values))
        if Site.objects.filter(name__in=[s.name for s in sites]).exists():
            raise InvalidInput(_("A site of this export has the name of a site of this instance."))
        hosts = [r.get("name") for r in reader.records(f"{folder}/hostnames.jsonl")]
        for start in range(0, len(hosts), 500):
            taken = Hostname.objects.filter(name__in=hosts[start : start + 500]).values_list("name", flat=True).first()
            if taken:
                raise InvalidInput(_("The hostname %(name)s is served by a site of this instance already."), name=taken)
        ctx.counts["sites.jsonl"] = bulk_insert(Site, sites)
        ids = dict(Site.objects.filter(tenant=ctx.tenant).values_list("name", "id"))
        ctx.resolvers["site"] = ids.get
        ctx.counts["blobs"] = self._blobs(reader, folder)
        ROWS.import_(reader, folder, ctx)
        for name, number in live.items():
            deploy = Deploy.objects.filter(site_id=ids[name], number=number).first()
            Site.objects.filter(pk=ids[name]).update(live_deploy=deploy)
        if sites:
            if not Generation.objects.filter(pk=1).update(value=F("value") + 1):
                Generation.objects.get_or_create(pk=1, defaults={"value": 1})
            transaction.on_commit(cache.touch_generation)

    def _blobs(self, reader: Reader, folder: str) -> int:
        index = f"{folder}/sites/blobs.jsonl"
        count = 0
        for record in reader.records(index):
            sha = str(record.get("sha256", ""))
            path = f"{folder}/sites/blobs/{sha}"
            if not reader.has(path):
                raise InvalidInput(_("%(path)s is missing from the export."), path=path)
            with reader.open_binary(path) as handle:
                data = handle.read()
            if hashlib.sha256(data).hexdigest() != sha:
                raise InvalidInput(_("%(path)s does not match its name."), path=path)
            count += 1
            if Blob.objects.filter(sha256=sha).exists():
                continue  # content-addressed: the same bytes are already here
            gz, br = site_blobs.compressed(data) if record.get("gzip") or record.get("brotli") else (None, None)
            values = to_values(BLOB, record, index)
            Blob.objects.create(
                **values,
                content=data,
                gzip=gz if record.get("gzip") else None,
                brotli=br if record.get("brotli") else None,
            )
        return count
