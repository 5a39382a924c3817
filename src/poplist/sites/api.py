"""Sites in the REST API: create, deploy by manifest (only missing blobs are uploaded), roll back."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema, Status

from poplist.accounts import services as accounts
from poplist.core.errors import Forbidden, InvalidInput
from poplist.sites import queries, services
from poplist.sites.models import Hostname, Site

PREFIX = "/sites"
router = Router(tags=["sites"])


class SiteIn(Schema):
    name: str
    domains: list[str] = []
    tenant: str | None = None  # only with a host-wide token


class ManifestIn(Schema):
    files: dict[str, str]


class RollbackIn(Schema):
    number: int | None = None


def _site(request: HttpRequest, name: str) -> Site:
    return services.get_site(name, tenant=request.auth.tenant)  # a host-wide token sees every site


def _actor(request: HttpRequest) -> str:
    token = request.auth
    return f"api:{token.user.email if token.user_id else token.prefix}"


@router.get("/tls-check", auth=None)
def tls_check(request: HttpRequest, domain: str = "") -> HttpResponse:
    """For Caddy's on-demand TLS: 200 when `domain` is a site's verified hostname, 404 otherwise."""
    try:
        name = services.normalize_hostname(domain)
        known = Hostname.objects.filter(name=name, verified_at__isnull=False).exists()  # never a pending claim
    except InvalidInput:
        known = False
    return HttpResponse(status=200 if known else 404)


@router.get("/")
def list_sites(request: HttpRequest):
    if request.auth.tenant is None:
        return [queries.site_summary(site) for site in Site.objects.select_related("tenant")]
    return queries.sites_of(request.auth.tenant)


@router.post("/", response={201: dict})
def create_site(request: HttpRequest, body: SiteIn):
    tenant = request.auth.tenant
    if tenant is None:
        if not body.tenant:
            raise InvalidInput(_("A host-wide token must name the tenant."))
        tenant = accounts.get_tenant(body.tenant)
    elif body.tenant and body.tenant != tenant.slug:
        raise Forbidden(_("This token belongs to another tenant."))
    return Status(201, queries.site_summary(services.create_site(tenant, body.name, body.domains)))


@router.get("/{name}")
def get_site(request: HttpRequest, name: str):
    return queries.site_summary(_site(request, name))


@router.get("/{name}/deploys")
def list_deploys(request: HttpRequest, name: str):
    return queries.deploys_of(_site(request, name))


@router.post("/{name}/deploys", response={201: dict})
def start_deploy(request: HttpRequest, name: str, body: ManifestIn):
    """Answer the sha256 of the files the server lacks: upload only those, then finalise."""
    deploy, missing = services.start_deploy(_site(request, name), body.files, actor=_actor(request))
    return Status(201, {"deploy": deploy.number, "missing": missing})


@router.put("/{name}/deploys/{number}/blobs/{sha256}")
def upload_blob(request: HttpRequest, name: str, number: int, sha256: str):
    """The body is the file's bytes; the server hashes them and refuses a mismatch."""
    site = _site(request, name)
    deploy = services.get_deploy(site, number)
    data = request.read(site.max_file_bytes + 1)
    computed = services.blobs.sha256(data)
    if computed != sha256.lower():
        raise InvalidInput(_("The bytes sent have the sha256 %(sha)s, not the one in the address."), sha=computed)
    services.upload_blob(site, deploy, data)
    return {"sha256": computed, "size": len(data)}


@router.post("/{name}/deploys/{number}/finalise")
def finalise(request: HttpRequest, name: str, number: int):
    site = _site(request, name)
    deploy = services.finalise_deploy(site, services.get_deploy(site, number))
    return queries.deploy_summary(deploy, deploy.id)


@router.post("/{name}/rollback")
def rollback(request: HttpRequest, name: str, body: RollbackIn):
    deploy = services.rollback(_site(request, name), body.number)
    return queries.deploy_summary(deploy, deploy.id)


@router.post("/{name}/domains/{host}", response={201: dict})
def add_domain(request: HttpRequest, name: str, host: str):
    site = _site(request, name)
    services.add_hostname(site, host)
    return Status(201, queries.site_summary(site))


@router.post("/{name}/domains/{host}/check")
def check_domain(request: HttpRequest, name: str, host: str):
    """Look in the DNS now for the proof of ownership; answers the domain's state."""
    found = services.check_hostname(_site(request, name), host)
    return queries.domain_summary(found)


@router.delete("/{name}/domains/{host}")
def remove_domain(request: HttpRequest, name: str, host: str):
    site = _site(request, name)
    services.remove_hostname(site, host)
    return queries.site_summary(site)
