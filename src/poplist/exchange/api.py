"""`GET /api/v1/export/`: the tenant's complete export (.tar.gz), also while the tenant is suspended."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema

from poplist.accounts.models import Tenant
from poplist.accounts.services import get_tenant
from poplist.core.errors import Forbidden, InvalidInput, NotFound
from poplist.exchange import failover, feed, services, tenantfeed

PREFIX = "/export"
router = Router(tags=["export"])


@router.get("/", summary="Download the tenant's complete export", response={200: None})
def download_export(request: HttpRequest, tenant: str = "") -> FileResponse:
    """A tenant token exports its own tenant; a host-wide token names one with `?tenant=SLUG`."""
    token = request.auth
    if token.tenant_id is not None:
        if tenant and tenant != token.tenant.slug:
            raise NotFound(_("There is no tenant %(slug)s."), slug=tenant)  # another tenant's: 404, never data
        target = token.tenant
    elif tenant:
        target = get_tenant(tenant)
    else:
        raise InvalidInput(_("A host-wide token must name the tenant: ?tenant=SLUG."))
    return FileResponse(
        services.tenant_archive(target),
        as_attachment=True,
        filename=services.download_name(target),
        content_type="application/gzip",
    )


def _host_token(request: HttpRequest) -> None:
    if request.auth.tenant_id is not None:
        raise Forbidden(
            _("The instance-wide change feed needs a host-wide token; a tenant token follows its own tenant's feed.")
        )


def _tenant_feed(request: HttpRequest, tenant: str) -> Tenant | None:
    """Whose feed: None for the instance-wide one (host-wide token only), else the tenant named by ?tenant=SLUG.

    A tenant token reads only its own tenant's feed; naming another is 404, as if it did not exist.
    """
    token = request.auth
    if not tenant:
        _host_token(request)
        return None
    if token.tenant_id is not None and tenant != token.tenant.slug:
        raise NotFound(_("There is no tenant %(slug)s."), slug=tenant)
    return token.tenant if token.tenant_id is not None else get_tenant(tenant)


@router.get("/feed/scope", summary="Which feed this token follows: its tenant's, or the whole instance's")
def feed_scope(request: HttpRequest) -> dict:
    return {"tenant": request.auth.tenant.slug if request.auth.tenant_id is not None else None}


@router.get("/feed", summary="Changes after a sequence number (for a standby)", response={200: dict})
def change_feed(
    request: HttpRequest,
    after: int = 0,
    limit: int = 5000,
    standby: str = "",
    tenant: str = "",
    gap_xmax: int | None = None,
) -> dict:
    """`standby` (the follower's instance id) acknowledges every change up to `after`: the log may be pruned there.

    With `tenant=SLUG`, only that tenant's changes (a tenant's live copy); its followers hold no log back.
    `gap_xmax`: the `xmax` of the page that first showed a gap right after `after` (see feed.horizon).
    """
    scope = _tenant_feed(request, tenant)
    if scope is not None:
        return tenantfeed.changes_page(scope, after, limit, gap_xmax=gap_xmax)
    return feed.changes_page(after, limit, standby or None)


@router.get("/feed/tables", summary="The replicated tables, parents first, and the feed's head", response={200: dict})
def feed_tables(request: HttpRequest, standby: str = "", tenant: str = "") -> dict:
    scope = _tenant_feed(request, tenant)
    if scope is not None:
        return tenantfeed.listing(scope)
    return feed.listing(standby or None)


@router.get("/feed/status", summary="This node's id, role, epoch, and whom it was promoted from", response={200: dict})
def feed_status(request: HttpRequest) -> dict:
    _host_token(request)
    return failover.node_status()


class FenceIn(Schema):
    epoch: int
    instance: str


@router.post("/feed/fence", summary="A newer primary fences this node: it takes no more writes", response={200: dict})
def feed_fence(request: HttpRequest, payload: FenceIn) -> dict:
    _host_token(request)
    return failover.fence(payload.epoch, payload.instance)


@router.get("/feed/snapshot", summary="One page of a table for a standby's first copy", response={200: dict})
def feed_snapshot(
    request: HttpRequest, table: str = "", after: str | None = None, limit: int = 2000, tenant: str = ""
) -> dict:
    scope = _tenant_feed(request, tenant)
    if scope is not None:
        return tenantfeed.snapshot_page(scope, table, after, limit)
    return feed.snapshot_page(table, after, limit)


@router.get("/feed/blobs", summary="Site files a tenant's deploys use, by sha256 (a tenant's live copy)")
def feed_blobs(request: HttpRequest, tenant: str, sha: list[str] = Query([])) -> dict:
    scope = _tenant_feed(request, tenant)
    if scope is None:
        raise InvalidInput(_("Name the tenant: ?tenant=SLUG."))
    return tenantfeed.blobs_page(scope, sha)
