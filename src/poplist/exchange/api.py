"""`GET /api/v1/export/`: the tenant's complete export (.tar.gz), also while the tenant is suspended."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from poplist.accounts.services import get_tenant
from poplist.core.errors import Forbidden, InvalidInput, NotFound
from poplist.exchange import failover, feed, services

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
        raise Forbidden(_("The change feed needs a host-wide token."))


@router.get("/feed", summary="Changes after a sequence number (for a standby)", response={200: dict})
def change_feed(request: HttpRequest, after: int = 0, limit: int = 5000, standby: str = "") -> dict:
    """`standby` (the follower's instance id) acknowledges every change up to `after`: the log may be pruned there."""
    _host_token(request)
    return feed.changes_page(after, limit, standby or None)


@router.get("/feed/tables", summary="The replicated tables, parents first, and the feed's head", response={200: dict})
def feed_tables(request: HttpRequest, standby: str = "") -> dict:
    _host_token(request)
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
def feed_snapshot(request: HttpRequest, table: str, after: str | None = None, limit: int = 2000) -> dict:
    _host_token(request)
    return feed.snapshot_page(table, after, limit)
