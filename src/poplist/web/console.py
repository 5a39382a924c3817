"""The owners' console: dashboard, lists, the new-list wizard, settings, pending requests."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from poplist.core.errors import InvalidInput, NotFound, PoplistError
from poplist.lists import services, subscriptions
from poplist.lists.models import MailingList
from poplist.web import charts, queries
from poplist.web.forms import NewListForm, SettingsForm


def tenant_of(request: HttpRequest):
    """The tenant whose data this user may see; host admins manage tenants from their own pages."""
    if request.user.tenant_id is None:
        raise NotFound(_("This console is for the owners of a tenant."))
    return request.user.tenant


def list_of(request: HttpRequest, address: str):
    """One of the user's tenant's lists; another tenant's list is 'not found', never shown."""
    return services.get_list(address, tenant=tenant_of(request))


def _charts(lists, member_count: int) -> list[tuple[str, str]]:
    """`lists`: a MailingList queryset (the tenant's or one list), read by the database as a subquery."""
    found = [
        (
            _("Subscribers"),
            charts.line_chart(queries.subscribers_series(lists, member_count), _("Subscribers over time")),
        ),
        (_("Posts per day"), charts.bar_chart(queries.posts_series(lists), _("Posts per day"))),
    ]
    for label, points in queries.domain_series(lists):
        found.append((label, charts.bar_chart(points, label, css="bar alt")))
    return found


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    page = queries.lists_page(tenant, size=100)
    lists = page.rows
    posts = queries.posts_per_list(lists)
    pending = queries.pending_per_list(lists)
    extra = queries.domain_list_stats(lists)
    rows = [
        {
            "list": m,
            "posts": posts.get(m.pk, 0),
            "pending": pending.get(m.pk, 0),
            "extra": [stats.get(m.pk, "") for _label, stats in extra],
        }
        for m in lists
    ]
    total = services.tenant_member_count(tenant)
    context = {
        "tenant": tenant,
        "rows": rows,
        "extra_labels": [label for label, _stats in extra],
        "more": page.next_after,
        "total_members": total,
        "list_count": tenant.lists.count(),
        "charts": _charts(MailingList.objects.filter(tenant=tenant).only("pk"), total),
    }
    return render(request, "web/dashboard.html", context)


@login_required
def list_index(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    query = request.GET.get("q", "")[:200]
    page = queries.lists_page(tenant, query=query, after=request.GET.get("after", ""))
    return render(request, "web/list_index.html", {"tenant": tenant, "page": page, "q": query})


@login_required
@require_http_methods(["GET", "POST"])
def create_list(request: HttpRequest) -> HttpResponse:
    """A three-step wizard; earlier steps travel as hidden fields, the list is created at the last."""
    tenant = tenant_of(request)
    domains = list(tenant.domains.values_list("name", flat=True))
    steps = NewListForm.STEPS
    step = 0
    form = NewListForm(domains=domains, initial={"display_name": ""})
    if request.method == "POST":
        step = min(max(int(request.POST.get("step", "0") or 0), 0), len(steps) - 1)
        going_back = "back" in request.POST
        form = NewListForm(request.POST, domains=domains)
        form.is_valid()
        current = steps[step][1]
        if going_back:
            step = max(step - 1, 0)
            form._errors = {}
        elif any(name in form.errors for name in current):
            pass
        elif step < len(steps) - 1:
            step += 1
            form._errors = {}
        else:
            data = form.cleaned_data
            try:
                mailing_list = services.create_list(
                    tenant,
                    f"{data['local_part']}@{data['domain']}",
                    display_name=data["display_name"],
                    style=data["style"],
                    description=data["description"],
                    language=data["language"],
                    owners=[request.user.email],
                    actor=request.user.email,
                )
                services.update_settings(
                    mailing_list,
                    {"subscription_policy": data["subscription_policy"], "archive_policy": data["archive_policy"]},
                    actor=request.user.email,
                )
            except PoplistError as exc:
                form.add_error(None, str(exc))
                step = 0
            else:
                messages.success(request, _("The list %(address)s is ready.") % {"address": mailing_list.address})
                return redirect("web:list_console", address=mailing_list.address)
    visible = steps[step][1]
    context = {
        "form": form,
        "step": step,
        "steps": [title for title, _fields in steps],
        "visible": [form[name] for name in visible],
        "hidden": [form[name] for _t, fields in steps for name in fields if name not in visible],
        "last": step == len(steps) - 1,
        "domains": domains,
    }
    status = 400 if form.errors and request.method == "POST" else 200
    return render(request, "web/create_list.html", context, status=status)


@login_required
def list_console(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    lists = [mailing_list]
    context = {
        "list": mailing_list,
        "charts": _charts(MailingList.objects.filter(pk=mailing_list.pk).only("pk"), mailing_list.member_count),
        "posts": queries.posts_per_list(lists).get(mailing_list.pk, 0),
        "pending": queries.pending_per_list(lists).get(mailing_list.pk, 0),
        "owners": services_roles(mailing_list),
    }
    return render(request, "web/list_console.html", context)


def services_roles(mailing_list) -> dict[str, list[str]]:
    from poplist.lists.models import Member

    roles: dict[str, list[str]] = {"owner": [], "moderator": []}
    for email, role in Member.objects.filter(mailing_list=mailing_list, role__in=["owner", "moderator"]).values_list(
        "email", "role"
    )[:200]:
        roles[role].append(email)
    return roles


@login_required
@require_http_methods(["GET", "POST"])
def list_settings(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    form = SettingsForm(request.POST or None, instance=mailing_list)
    if request.method == "POST":
        # A ModelForm mutates its instance while validating: compare against a fresh copy.
        form = SettingsForm(request.POST, instance=services.get_list(address, tenant=mailing_list.tenant))
        if form.is_valid():
            try:
                changed = services.update_settings(
                    list_of(request, address), form.as_text_values(), actor=request.user.email
                )
            except InvalidInput as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("Saved.") if changed else _("Nothing changed."))
                return redirect("web:settings", address=mailing_list.address)
    status = 400 if form.errors else 200
    return render(request, "web/settings.html", {"list": mailing_list, "form": form}, status=status)


@login_required
def requests_page(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    pending = list(queries.pending_requests(mailing_list))
    return render(
        request,
        "web/requests.html",
        {
            "list": mailing_list,
            "approvals": [p for p in pending if p.kind == "approval"],
            "waiting": [p for p in pending if p.kind != "approval"],
        },
    )


@login_required
@require_POST
def decide_request(request: HttpRequest, address: str, request_id: int) -> HttpResponse:
    mailing_list = list_of(request, address)
    pending = subscriptions.get_pending(mailing_list, request_id)
    if request.POST.get("decision") == "approve":
        subscriptions.approve(pending, actor=request.user.email)
        messages.success(request, _("%(email)s is now a member.") % {"email": pending.email})
    else:
        subscriptions.refuse(pending, actor=request.user.email, reason=request.POST.get("reason", "")[:500])
        messages.success(request, _("The request of %(email)s was refused.") % {"email": pending.email})
    return redirect("web:requests", address=mailing_list.address)
