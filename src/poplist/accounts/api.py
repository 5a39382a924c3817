"""REST endpoints for tenants (the host's admins), domains and API tokens."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Sum
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Path, Query, Router, Schema

from poplist.accounts import services
from poplist.accounts.models import ApiToken, Domain, Tenant
from poplist.api.pagination import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, Page, paginate
from poplist.api.scope import actor, is_admin, require_admin, require_writable, tenant_scope
from poplist.core import addresses
from poplist.core.errors import InvalidInput, NotFound
from poplist.lists.models import MailingList

PREFIX = ""
router = Router(tags=["accounts"])


class TenantOut(Schema):
    slug: str
    name: str
    status: str
    status_reason: str
    domains: list[str]
    lists: int
    members: int
    quota_lists: int
    quota_members: int
    quota_sites: int
    quota_storage_bytes: int
    created_at: datetime


class TenantIn(Schema):
    slug: str = Field(max_length=63)
    name: str = Field("", max_length=200)
    domain: str | None = Field(None, max_length=253)


class StatusIn(Schema):
    reason: str = Field("", max_length=500)


class DomainOut(Schema):
    name: str
    tenant: str
    created_at: datetime


class DomainIn(Schema):
    name: str = Field(max_length=253)
    tenant: str | None = Field(None, description="The tenant (host-wide tokens only; default: the token's).")


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    tenant: str | None
    user: str | None
    created_at: datetime
    last_used_at: datetime | None


class TokenIn(Schema):
    name: str = Field("", max_length=100)
    tenant: str | None = Field(None, description="The tenant (host-wide tokens only; default: the token's).")


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret, shown once: only its digest is kept.")


# --- Tenants ---------------------------------------------------------------------------------------


def _tenant_rows(tenants: list[Tenant]) -> list[dict]:
    ids = [t.pk for t in tenants]
    usage = {
        row["tenant"]: row
        for row in MailingList.objects.filter(tenant_id__in=ids)
        .values("tenant")
        .annotate(n=Count("id"), members=Sum("member_count"))
    }
    domains: dict[int, list[str]] = {}
    for tenant_id, name in Domain.objects.filter(tenant_id__in=ids).order_by("name").values_list("tenant_id", "name"):
        domains.setdefault(tenant_id, []).append(name)
    return [
        {
            "slug": t.slug,
            "name": t.name,
            "status": t.status,
            "status_reason": t.status_reason,
            "domains": domains.get(t.pk, []),
            "lists": usage.get(t.pk, {}).get("n", 0),
            "members": usage.get(t.pk, {}).get("members") or 0,
            "quota_lists": t.quota_lists,
            "quota_members": t.quota_members,
            "quota_sites": t.quota_sites,
            "quota_storage_bytes": t.quota_storage_bytes,
            "created_at": t.created_at,
        }
        for t in tenants
    ]


def visible_tenant(request: HttpRequest, slug: str) -> Tenant:
    """The tenant `slug` if this token may see it; another tenant's is 'not found'."""
    scope = tenant_scope(request)
    if scope is not None and scope.slug != slug:
        raise NotFound(_("There is no tenant %(slug)s."), slug=slug)
    return services.get_tenant(slug)


@router.get("/tenants", response=Page[TenantOut], summary="List tenants (a tenant token sees its own)")
def list_tenants(request, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)):
    scope = tenant_scope(request)
    query = Tenant.objects.all() if scope is None else Tenant.objects.filter(pk=scope.pk)
    page = paginate(query, order=("slug",), cursor=cursor, limit=limit)
    page["items"] = _tenant_rows(page["items"])
    return page


@router.post("/tenants", response={201: TenantOut}, summary="Create a tenant (admins)")
def create_tenant(request, body: TenantIn):
    require_admin(request)
    tenant = services.create_tenant(body.slug, body.name, body.domain)
    return 201, _tenant_rows([tenant])[0]


@router.get("/tenants/{slug}", response=TenantOut, summary="A tenant with its usage and quotas")
def get_tenant(request, slug: str):
    return _tenant_rows([visible_tenant(request, slug)])[0]


def _admin_tenant(request, slug: str) -> Tenant:
    tenant = visible_tenant(request, slug)  # another tenant's: 404 before 403
    require_admin(request)
    return tenant


@router.post("/tenants/{slug}/suspend", response=TenantOut, summary="Suspend a tenant (owners get a notice)")
def suspend_tenant(request, slug: str, body: StatusIn):
    tenant = services.suspend_tenant(_admin_tenant(request, slug), reason=body.reason, actor=actor(request))
    return _tenant_rows([tenant])[0]


@router.post("/tenants/{slug}/reactivate", response=TenantOut, summary="Reactivate a suspended or closed tenant")
def reactivate_tenant(request, slug: str):
    tenant = services.reactivate_tenant(_admin_tenant(request, slug), actor=actor(request))
    return _tenant_rows([tenant])[0]


@router.post("/tenants/{slug}/close", response=TenantOut, summary="Close a tenant (its data stays exportable)")
def close_tenant(request, slug: str, body: StatusIn):
    tenant = services.close_tenant(_admin_tenant(request, slug), reason=body.reason, actor=actor(request))
    return _tenant_rows([tenant])[0]


# --- Domains ---------------------------------------------------------------------------------------


def _domain_row(domain: Domain) -> dict:
    return {"name": domain.name, "tenant": domain.tenant.slug, "created_at": domain.created_at}


def _target_tenant(request, slug: str | None) -> Tenant:
    """The tenant a new object goes to: the token's own, or (host-wide tokens) the one named."""
    scope = tenant_scope(request)
    if scope is not None:
        if slug not in (None, scope.slug):
            raise NotFound(_("There is no tenant %(slug)s."), slug=slug)
        return scope
    if not slug:
        raise InvalidInput(_("Name the tenant: a host-wide token belongs to none."))
    return services.get_tenant(slug)


@router.get("/domains", response=Page[DomainOut], summary="List domains")
def list_domains(request, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)):
    scope = tenant_scope(request)
    query = Domain.objects.select_related("tenant")
    if scope is not None:
        query = query.filter(tenant=scope)
    page = paginate(query, order=("name",), cursor=cursor, limit=limit)
    page["items"] = [_domain_row(d) for d in page["items"]]
    return page


@router.post("/domains", response={201: DomainOut}, summary="Add a domain to a tenant")
def create_domain(request, body: DomainIn):
    tenant = _target_tenant(request, body.tenant)
    require_writable(request, tenant)
    return 201, _domain_row(services.add_domain(tenant, body.name))


@router.get("/domains/{name}", response=DomainOut, summary="One domain")
def get_domain(request, name: str):
    scope = tenant_scope(request)
    query = Domain.objects.select_related("tenant")
    if scope is not None:
        query = query.filter(tenant=scope)
    try:
        normalized = addresses.domain_to_unicode(name)
    except InvalidInput:
        normalized = None
    domain = query.filter(name=normalized).first() if normalized else None
    if domain is None:
        raise NotFound(_("There is no domain %(domain)s."), domain=name)
    return _domain_row(domain)


# --- Tokens ----------------------------------------------------------------------------------------


def _token_row(token: ApiToken) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "tenant": token.tenant.slug if token.tenant_id else None,
        "user": token.user.email if token.user_id else None,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
    }


def _tokens(request):
    scope = tenant_scope(request)
    query = ApiToken.objects.select_related("tenant", "user").filter(revoked_at__isnull=True)
    return query if scope is None else query.filter(tenant=scope)


@router.get("/tokens", response=Page[TokenOut], summary="List live API tokens")
def list_tokens(request, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)):
    page = paginate(_tokens(request), order=("id",), cursor=cursor, limit=limit)
    page["items"] = [_token_row(t) for t in page["items"]]
    return page


@router.post("/tokens", response={201: NewTokenOut}, summary="Create a token (its secret is shown once)")
def create_token(request, body: TokenIn):
    tenant = _target_tenant(request, body.tenant) if (body.tenant or not is_admin(request)) else None
    if tenant is not None:
        require_writable(request, tenant)
    token, secret = services.create_api_token(tenant, name=body.name)
    return 201, {**_token_row(token), "token": secret}


@router.delete("/tokens/{token_id}", response={204: None}, summary="Revoke a token")
def revoke_token(request, token_id: int = Path(..., ge=1, le=MAX_ID)):
    token = _tokens(request).filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("There is no token %(id)s."), id=token_id)
    services.revoke_api_token(token)
    return 204, None
