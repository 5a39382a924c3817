"""The owners' console (grown by the web issue): login, dashboard, a list's requests."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from poplist.core.errors import NotFound
from poplist.lists import queries, services, subscriptions


def _tenant_of(request: HttpRequest):
    """The tenant whose data this user may see; host admins see none here (they use /admin/)."""
    if request.user.tenant_id is None:
        raise NotFound("This console is for the owners of a tenant.")
    return request.user.tenant


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    tenant = _tenant_of(request)
    return render(request, "web/dashboard.html", {"tenant": tenant, "lists": queries.lists_of(tenant)})


@login_required
def list_console(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = services.get_list(address, tenant=_tenant_of(request))
    return render(
        request,
        "web/list_console.html",
        {
            "list": mailing_list,
            "requests": subscriptions.pending_approvals(mailing_list),
        },
    )


@login_required
@require_POST
def decide_request(request: HttpRequest, address: str, request_id: int) -> HttpResponse:
    mailing_list = services.get_list(address, tenant=_tenant_of(request))
    pending = subscriptions.get_pending(mailing_list, request_id)
    if request.POST.get("decision") == "approve":
        subscriptions.approve(pending, actor=request.user.email)
    else:
        subscriptions.refuse(pending, actor=request.user.email, reason=request.POST.get("reason", ""))
    return redirect("web:list_console", address=mailing_list.address)
