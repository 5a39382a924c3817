"""`GET /api/v1/export/`: the tenant's complete export (.tar.gz), also while the tenant is suspended."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Router

from poplist.accounts.services import get_tenant
from poplist.core.errors import InvalidInput, NotFound
from poplist.exchange import services

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
