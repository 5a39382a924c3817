"""Bounce pages: the owners' per-list page, the host admins' rates, the member's re-enable link."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from poplist.bounces import queries, services
from poplist.core.errors import NotFound
from poplist.lists.members import get_member
from poplist.web.admin_pages import host_admin
from poplist.web.console import list_of

CONSOLE_TABS = [(gettext_lazy("Bounces"), "bounces:list_bounces")]
ADMIN_TABS = [(gettext_lazy("Bounce rates"), "bounces:admin_rates")]
DASHBOARD_SERIES = [(gettext_lazy("Bounces per day"), queries.bounces_per_day)]


@login_required
def list_bounces(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    email = request.GET.get("member") or None
    return render(
        request,
        "bounces/list_bounces.html",
        {
            "list": mailing_list,
            "member": email,
            "standings": queries.standings(mailing_list),
            "steps": queries.recent_steps(mailing_list, email, limit=100),
            "events": queries.recent_events(mailing_list, email, limit=100),
        },
    )


@login_required
@require_POST
def owner_reenable(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    member = get_member(mailing_list, request.POST.get("email", ""))
    if services.reenable(member, actor=request.user.email):
        messages.success(request, _("Delivery to %(email)s is on again.") % {"email": member.email})
    return redirect("bounces:list_bounces", address=mailing_list.address)


@host_admin
def admin_rates(request: HttpRequest) -> HttpResponse:
    try:
        days = min(max(int(request.GET.get("days", 30)), 1), 365)
    except ValueError:
        days = 30
    return render(
        request,
        "bounces/admin_rates.html",
        {
            "days": days,
            "by_tenant": queries.rates(by="tenant", days=days),
            "by_domain": queries.rates(by="domain", days=days),
        },
    )


@require_http_methods(["GET", "POST"])
def reenable_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the disabled notice: GET asks (mail scanners follow links), POST acts."""
    member = services.member_for_reenable_token(token)
    if member is None:
        raise NotFound(_("This link is not valid, or you are no longer a member."))
    done = False
    if request.method == "POST":
        services.reenable(member, actor=member.email)
        done = True
    return render(request, "bounces/reenable.html", {"member": member, "list": member.mailing_list, "done": done})
