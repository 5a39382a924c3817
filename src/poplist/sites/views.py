"""The owners' pages for their sites: the list, one site's history, upload a zip, roll back in one click."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from poplist.core.errors import PoplistError
from poplist.sites import queries, services
from poplist.web.console import tenant_of

TENANT_TABS = [(gettext_lazy("Sites"), "sites:site_list")]


@login_required
def site_list(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    return render(request, "sites/site_list.html", {"tenant": tenant, "sites": queries.sites_of(tenant)})


@login_required
def site_page(request: HttpRequest, name: str) -> HttpResponse:
    site = services.get_site(name, tenant_of(request))
    context = {"site": queries.site_summary(site), "deploys": queries.deploys_of(site)}
    return render(request, "sites/site.html", context)


@login_required
@require_POST
def upload(request: HttpRequest, name: str) -> HttpResponse:
    site = services.get_site(name, tenant_of(request))
    archive = request.FILES.get("archive")
    if archive is None:
        messages.error(request, _("Choose a .zip or .tar.gz file to publish."))
        return redirect("sites:site", name=site.name)
    try:
        deploy = services.deploy_upload(site, archive, via="web", actor=request.user.email, name=archive.name)
    except PoplistError as exc:
        messages.error(request, _("Nothing changed: %(reason)s") % {"reason": exc})
    else:
        messages.success(request, _("Deploy %(number)s is live.") % {"number": deploy.number})
    return redirect("sites:site", name=site.name)


@login_required
@require_POST
def rollback(request: HttpRequest, name: str, number: int) -> HttpResponse:
    site = services.get_site(name, tenant_of(request))
    deploy = services.rollback(site, number)
    messages.success(request, _("Deploy %(number)s is live again.") % {"number": deploy.number})
    return redirect("sites:site", name=site.name)


@login_required
@require_POST
def add_domain(request: HttpRequest, name: str) -> HttpResponse:
    site = services.get_site(name, tenant_of(request))
    try:
        host = services.add_hostname(site, request.POST.get("domain", ""))
    except PoplistError as exc:
        messages.error(request, _("Nothing changed: %(reason)s") % {"reason": exc})
    else:
        messages.success(request, _("%(host)s is pending: publish one of the records below.") % {"host": host.name})
    return redirect("sites:site", name=site.name)


@login_required
@require_POST
def check_domain(request: HttpRequest, name: str, host: str) -> HttpResponse:
    site = services.get_site(name, tenant_of(request))
    found = services.check_hostname(site, host)
    if found.verified_at:
        messages.success(request, _("%(host)s is verified: the site answers there now.") % {"host": found.name})
    else:
        messages.error(request, _("%(host)s: no proof found in the DNS yet.") % {"host": found.name})
    return redirect("sites:site", name=site.name)


@login_required
@require_POST
def remove_domain(request: HttpRequest, name: str, host: str) -> HttpResponse:
    site = services.get_site(name, tenant_of(request))
    services.remove_hostname(site, host)
    messages.success(request, _("%(host)s is removed.") % {"host": host})
    return redirect("sites:site", name=site.name)
