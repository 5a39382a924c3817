"""The owners' Export tab: download the tenant's complete export, whatever the tenant's status."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

from poplist.exchange import queries, services
from poplist.web.console import tenant_of

TENANT_TABS = [(gettext_lazy("Export"), "exchange:tenant_export")]


@login_required
def tenant_export(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    primary_url = request.build_absolute_uri("/").rstrip("/")  # what a live copy follows
    return render(
        request, "exchange/export.html", {"tenant": tenant, "primary_url": primary_url, **queries.export_page(tenant)}
    )


@login_required
def tenant_export_download(request: HttpRequest) -> FileResponse:
    tenant = tenant_of(request)
    return FileResponse(
        services.tenant_archive(tenant),
        as_attachment=True,
        filename=services.download_name(tenant),
        content_type="application/gzip",
    )
