"""Reads for the CLI, the API and the pages."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from poplist.accounts.models import Tenant
from poplist.sites.models import Deploy, Hostname, Site


def site_summary(site: Site) -> dict[str, Any]:
    live = site.live_deploy if site.live_deploy_id else None
    return {
        "name": site.name,
        "tenant": site.tenant.slug,
        "hostnames": [h.name for h in site.hostnames.all()],
        "domains": [domain_summary(h, site) for h in site.hostnames.all() if not h.is_default],
        "live_deploy": live.number if live else None,
        "files": live.file_count if live else 0,
        "bytes": live.total_bytes if live else 0,
        "quota": {"bytes": site.max_bytes, "files": site.max_files, "file_bytes": site.max_file_bytes},
    }


def domain_summary(host: Hostname, site: Site | None = None) -> dict[str, Any]:
    """A custom domain's state and what its owner must publish in the DNS to prove it."""
    from poplist.sites.domains import CHALLENGE

    site = site or host.site
    return {
        "name": host.name,
        "status": "verified" if host.verified_at else "pending",
        "verified_at": host.verified_at,
        "txt_record": {"name": f"{CHALLENGE}.{host.name}", "value": host.token},
        "cname_target": f"{site.name}.{settings.SITES_DOMAIN}".lower(),
        "checked_at": host.checked_at,
        "check_found": host.check_error,
    }


def sites_of(tenant: Tenant) -> list[dict[str, Any]]:
    sites = Site.objects.filter(tenant=tenant).select_related("tenant", "live_deploy").prefetch_related("hostnames")
    return [site_summary(site) for site in sites]


def deploy_summary(deploy: Deploy, live_id: int | None = None) -> dict[str, Any]:
    return {
        "number": deploy.number,
        "status": deploy.status,
        "live": deploy.id == live_id,
        "files": deploy.file_count,
        "bytes": deploy.total_bytes,
        "source": deploy.source,
        "actor": deploy.actor,
        "error": deploy.error,
        "created_at": deploy.created_at,
        "finished_at": deploy.finished_at,
    }


def deploys_of(site: Site, limit: int = 100) -> list[dict[str, Any]]:
    rows = site.deploys.defer("manifest").order_by("-number")[:limit]
    return [deploy_summary(d, site.live_deploy_id) for d in rows]
