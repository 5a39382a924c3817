"""Every change to sites goes through here: create, hostnames, deploy, finalise, roll back."""

from __future__ import annotations

import re
from pathlib import Path
from typing import IO

import idna
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.accounts.models import Tenant
from poplist.core.errors import Conflict, InvalidInput, NotFound, PoplistError, QuotaExceeded
from poplist.sites import blobs, cache, rules
from poplist.sites.models import Deploy, Generation, Hostname, Site
from poplist.sites.paths import check_case_clashes, clean_path, content_type, is_compressible
from poplist.sites.uploads import Limits, read_upload

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


# --- Sites and hostnames -------------------------------------------------------------------------


def default_hostname(name: str) -> str:
    return f"{name}.{settings.SITES_DOMAIN}".lower()


def normalize_hostname(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        raise InvalidInput(_("%(host)s is not a valid hostname."), host=host) from None
    if "." not in ascii_host or len(ascii_host) > 253:
        raise InvalidInput(_("%(host)s is not a valid hostname."), host=host)
    return ascii_host


def create_site(
    tenant: Tenant, name: str, domains: list[str] | tuple[str, ...] = (), *, verified: bool = False
) -> Site:
    """A site answering at NAME.<sites domain>; each custom domain is pending until proven (or `verified`
    when the host vouches for it: the operator's CLI)."""
    name = name.strip().lower()
    if not _NAME.match(name):
        raise InvalidInput(_("A site name is 1 to 63 letters, digits or hyphens: %(name)s is not."), name=name)
    if tenant.sites.count() >= tenant.quota_sites:
        raise QuotaExceeded(_("This account already has its %(count)s sites."), count=tenant.quota_sites)
    try:
        with transaction.atomic():
            site = Site.objects.create(tenant=tenant, name=name)
            Hostname.objects.create(site=site, name=default_hostname(name), is_default=True, verified_at=timezone.now())
    except IntegrityError:
        raise Conflict(_("The site name %(name)s is taken."), name=name) from None
    for domain in domains:
        add_hostname(site, domain, verified=verified)
    return site


def get_site(name: str, tenant: Tenant | None = None) -> Site:
    """The site by name; for a tenant, only its own (another tenant's site is "not found")."""
    found = Site.objects.select_related("tenant").filter(name=name.strip().lower())
    if tenant is not None:
        found = found.filter(tenant=tenant)
    site = found.first()
    if site is None:
        raise NotFound(_("There is no site %(name)s."), name=name)
    return site


def add_hostname(site: Site, host: str, *, verified: bool = False) -> Hostname:
    """Claim a custom domain for the site: pending (not served) until domains.check finds the proof in
    the DNS, unless `verified`. A name another site only claimed (pending) is taken over: an unproven
    claim must not let anyone squat a name; a verified one is refused."""
    host = normalize_hostname(host)
    sites_domain = settings.SITES_DOMAIN.lower()
    if host == sites_domain or host.endswith("." + sites_domain):
        raise InvalidInput(_("Names under %(domain)s are given by the host, not added."), domain=sites_domain)
    from poplist.sites.domains import token_for

    try:
        with transaction.atomic():
            held = Hostname.objects.select_for_update().filter(name=host).first()
            if held is not None and held.site_id == site.pk:
                raise Conflict(_("%(host)s is already a hostname of this site."), host=host)
            if held is not None and held.verified_at is not None:
                raise Conflict(_("The hostname %(host)s is already used by another site."), host=host)
            if held is not None:
                held.delete()
            created = Hostname.objects.create(
                site=site,
                name=host,
                token=token_for(site.tenant_id, host),
                verified_at=timezone.now() if verified else None,
            )
            if verified:
                _bump()
    except IntegrityError:
        raise Conflict(_("The hostname %(host)s is already used by another site."), host=host) from None
    if verified:
        transaction.on_commit(cache.touch_generation)
    return created


def check_hostname(site: Site, host: str) -> Hostname:
    """Look in the DNS now for the proof that the site's owner holds `host` (see domains.py)."""
    from poplist.sites import domains

    name = normalize_hostname(host)
    found = site.hostnames.select_related("site").filter(name=name).first()
    if found is None:
        raise NotFound(_("The site %(site)s has no hostname %(host)s."), site=site.name, host=name)
    domains.check(found)
    return found


def remove_hostname(site: Site, host: str) -> None:
    host = normalize_hostname(host)
    found = site.hostnames.filter(name=host).first()
    if found is None:
        raise NotFound(_("The site %(site)s has no hostname %(host)s."), site=site.name, host=host)
    if found.is_default:
        raise InvalidInput(_("The default hostname %(host)s cannot be removed."), host=host)
    with transaction.atomic():
        found.delete()
        _bump()
    transaction.on_commit(cache.touch_generation)


def _bump() -> None:
    """Tell every server (by the database) that a hostname may serve something else now."""
    if not Generation.objects.filter(pk=1).update(value=F("value") + 1):
        Generation.objects.get_or_create(pk=1, defaults={"value": 1})


# --- Deploys -------------------------------------------------------------------------------------


def limits_for(site: Site) -> Limits:
    return Limits(max_files=site.max_files, max_bytes=site.max_bytes, max_file_bytes=site.max_file_bytes)


def deploy_upload(site: Site, source: str | Path | IO[bytes], *, via: str, actor: str = "", name: str = "") -> Deploy:
    """Deploy a folder, a zip or a tar(.gz): read and check it all, then switch the site to it at once."""
    try:
        files = read_upload(source, limits_for(site), name=name)
    except PoplistError as exc:
        _record_failure(site, via, actor, exc)
        raise
    return deploy_files(site, files, via=via, actor=actor)


def deploy_files(site: Site, files: dict[str, bytes], *, via: str, actor: str = "") -> Deploy:
    try:
        check_case_clashes(list(files))
        _check_rules(files)
        manifest, payload = {}, {}
        for path, data in files.items():
            sha = blobs.sha256(data)
            ctype = content_type(path)
            manifest[path] = {"sha256": sha, "size": len(data), "type": ctype}
            payload[sha] = (data, is_compressible(ctype))
        _check_tenant_quota(site, sum(e["size"] for e in manifest.values()))
    except PoplistError as exc:
        _record_failure(site, via, actor, exc)
        raise
    missing = set(payload) - blobs.existing(payload)
    rows: list[blobs.Blob] = []
    if sum(len(payload[sha][0]) for sha in missing) <= blobs.BATCH_BYTES:
        rows = blobs.prepare(payload, missing)  # compressed now, inserted with the deploy: one commit in all
    else:
        blobs.store(payload)  # in batches of their own: new blobs are safe from gc for its grace period
    with transaction.atomic():
        deploy = _new_deploy(site, via, actor, Deploy.Status.READY, manifest)  # holds gc's lock
        lacking = set(payload) - blobs.existing(payload)  # new ones, or one gc deleted since
        ready = [row for row in rows if row.sha256 in lacking]
        blobs.insert(ready + blobs.prepare(payload, lacking - {row.sha256 for row in ready}))
        _go_live(site, deploy)
    return deploy


def start_deploy(site: Site, files: dict[str, str], *, via: str = "api", actor: str = "") -> tuple[Deploy, list[str]]:
    """An API deploy from a manifest {path: sha256}: returns the deploy and the blobs the server lacks."""
    if not isinstance(files, dict) or not files:
        raise InvalidInput(_("A deploy needs at least one file."))
    if len(files) > site.max_files:
        raise QuotaExceeded(_("The upload has more than %(count)s files."), count=site.max_files)
    manifest = {}
    for raw, sha in files.items():
        path = clean_path(raw)
        if not isinstance(sha, str) or not _SHA.match(sha):
            raise InvalidInput(_("%(path)s: %(sha)s is not a sha256 in hexadecimal."), path=path, sha=str(sha)[:80])
        manifest[path] = {"sha256": sha}
    check_case_clashes(list(manifest))
    with transaction.atomic():
        deploy = _new_deploy(site, via, actor, Deploy.Status.PENDING, manifest)
    missing = sorted({e["sha256"] for e in manifest.values()} - blobs.existing(e["sha256"] for e in manifest.values()))
    return deploy, missing


def get_deploy(site: Site, number: int) -> Deploy:
    deploy = site.deploys.filter(number=number).first()
    if deploy is None:
        raise NotFound(_("The site %(site)s has no deploy %(number)s."), site=site.name, number=number)
    return deploy


def upload_blob(site: Site, deploy: Deploy, data: bytes) -> str:
    """Store one blob that a pending deploy of this site names; its sha256 is computed, not trusted."""
    if deploy.status != Deploy.Status.PENDING:
        raise Conflict(_("Deploy %(number)s is not waiting for files."), number=deploy.number)
    sha = blobs.sha256(data)
    entries = [(p, e) for p, e in deploy.manifest.items() if e["sha256"] == sha]
    if not entries:
        raise InvalidInput(_("No file of deploy %(number)s has the sha256 %(sha)s."), number=deploy.number, sha=sha)
    if len(data) > site.max_file_bytes:
        raise QuotaExceeded(
            _("The file %(name)s is larger than %(size)s bytes."), name=entries[0][0], size=site.max_file_bytes
        )
    blobs.store({sha: (data, any(is_compressible(content_type(p)) for p, _e in entries))})
    return sha


def finalise_deploy(site: Site, deploy: Deploy) -> Deploy:
    """Check a pending deploy is whole and within quotas, then make it live at once."""
    if deploy.status != Deploy.Status.PENDING:
        raise Conflict(_("Deploy %(number)s is not waiting for files."), number=deploy.number)
    shas = {e["sha256"] for e in deploy.manifest.values()}
    missing = shas - blobs.existing(shas)
    if missing:
        raise Conflict(_("%(count)s files are still missing."), count=len(missing))
    sizes = dict(blobs.Blob.objects.filter(sha256__in=list(shas)).values_list("sha256", "size"))
    manifest = {
        path: {"sha256": e["sha256"], "size": sizes[e["sha256"]], "type": content_type(path)}
        for path, e in deploy.manifest.items()
    }
    total = sum(e["size"] for e in manifest.values())
    try:
        if total > site.max_bytes:
            raise QuotaExceeded(_("The upload expands past the site's quota of %(size)s bytes."), size=site.max_bytes)
        for path, entry in manifest.items():
            if entry["size"] > site.max_file_bytes:
                raise QuotaExceeded(
                    _("The file %(name)s is larger than %(size)s bytes."), name=path, size=site.max_file_bytes
                )
        _check_rules({p: _blob_bytes(e["sha256"]) for p, e in manifest.items() if p in ("_redirects", "_headers")})
        _check_tenant_quota(site, total)
    except PoplistError as exc:
        failed = {"status": Deploy.Status.FAILED, "error": str(exc)[:2000], "finished_at": timezone.now()}
        Deploy.objects.filter(pk=deploy.pk).update(**failed)
        raise
    with transaction.atomic():
        gc_lock()
        if not Deploy.objects.filter(pk=deploy.pk, status=Deploy.Status.PENDING).exists():
            raise Conflict(_("Deploy %(number)s is not waiting for files."), number=deploy.number)
        lost = shas - blobs.existing(shas)  # gc may have deleted a blob it had seen unused
        if lost:
            raise Conflict(_("%(count)s files are still missing."), count=len(lost))
        deploy.manifest = manifest
        deploy.status = Deploy.Status.READY
        deploy.file_count = len(manifest)
        deploy.total_bytes = total
        deploy.finished_at = timezone.now()
        deploy.save(update_fields=["manifest", "status", "file_count", "total_bytes", "finished_at"])
        _go_live(site, deploy)
    return deploy


def rollback(site: Site, number: int | None = None) -> Deploy:
    """Point the site at an earlier ready deploy (the one before the live one by default): nothing is copied."""
    ready = site.deploys.filter(status=Deploy.Status.READY)
    if number is not None:
        target = ready.filter(number=number).first()
        if target is None:
            raise NotFound(_("The site %(site)s has no finished deploy %(number)s."), site=site.name, number=number)
    else:
        live = site.live_deploy.number if site.live_deploy_id else None
        target = ready.filter(number__lt=live).first() if live is not None else None
        if target is None:
            raise NotFound(_("The site %(site)s has no earlier deploy to roll back to."), site=site.name)
    with transaction.atomic():
        gc_lock()
        _lock(Site.objects.filter(pk=site.pk))  # gc prunes a site's deploys under this lock
        if not ready.filter(pk=target.pk).exists():
            raise NotFound(
                _("The site %(site)s has no finished deploy %(number)s."), site=site.name, number=target.number
            )
        _go_live(site, target)
    return target


def gc_lock() -> None:
    """Inside a transaction: wait for, then hold off, gc's sweep (the Generation row's lock).

    Every deploy takes it in the transaction that commits its manifest, and checks its blobs after;
    gc takes it to re-read new manifests and delete. So a blob is either seen in use by gc, or seen
    gone by the deploy (which stores it again or asks for it again): never deleted under a deploy.
    """
    if not _lock(Generation.objects.filter(pk=1)):
        Generation.objects.get_or_create(pk=1, defaults={"value": 0})
        _lock(Generation.objects.filter(pk=1))


def _lock(rows) -> list[int]:
    """SELECT … FOR UPDATE (PostgreSQL); SQLite's IMMEDIATE transactions already hold its one write lock."""
    return list(rows.select_for_update().values_list("pk", flat=True))


def _new_deploy(site: Site, via: str, actor: str, status: str, manifest: dict) -> Deploy:
    gc_lock()
    locked = Site.objects.select_for_update().get(pk=site.pk)  # serialises numbering per site
    number = (locked.deploys.aggregate(n=Max("number"))["n"] or 0) + 1
    ready = status == Deploy.Status.READY
    return Deploy.objects.create(
        site=site,
        number=number,
        status=status,
        manifest=manifest,
        source=via,
        actor=actor,
        file_count=len(manifest) if ready else 0,
        total_bytes=sum(e.get("size", 0) for e in manifest.values()),
        finished_at=timezone.now() if ready else None,
    )


def _go_live(site: Site, deploy: Deploy) -> None:
    """The one write that makes a deploy visible: the pointer moves, inside the caller's transaction."""
    Site.objects.filter(pk=site.pk).update(live_deploy=deploy)
    site.live_deploy = deploy
    _bump()
    transaction.on_commit(lambda: cache.publish(site))


def _record_failure(site: Site, via: str, actor: str, exc: PoplistError) -> None:
    with transaction.atomic():
        deploy = _new_deploy(site, via, actor, Deploy.Status.FAILED, {})
        deploy.error = str(exc)[:2000]
        deploy.finished_at = timezone.now()
        deploy.save(update_fields=["error", "finished_at"])


def _check_rules(files: dict[str, bytes]) -> None:
    for name, parse in (("_redirects", rules.parse_redirects), ("_headers", rules.parse_headers)):
        if name in files:
            try:
                text = files[name].decode("utf-8")
            except UnicodeDecodeError:
                raise rules.BadRules(_("%(name)s is not UTF-8 text."), name=name) from None
            parse(text)


def _check_tenant_quota(site: Site, total: int) -> None:
    others = (
        Site.objects.filter(tenant_id=site.tenant_id)
        .exclude(pk=site.pk)
        .aggregate(n=Sum("live_deploy__total_bytes"))["n"]
        or 0
    )
    if others + total > site.tenant.quota_storage_bytes:
        raise QuotaExceeded(_("This deploy would take the account past its storage quota."))


def _blob_bytes(sha: str) -> bytes:
    return bytes(blobs.Blob.objects.values_list("content", flat=True).get(sha256=sha))
