"""The host's admin pages: tenants with their usage against quotas; create, suspend, reactivate, close."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import user_passes_test
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from poplist.accounts import queries, services
from poplist.core.errors import PoplistError

host_admin = user_passes_test(lambda user: user.is_authenticated and user.is_superuser, login_url="/login/")


class TenantForm(forms.Form):
    slug = forms.CharField(label=gettext_lazy("Short name (slug)"), max_length=63)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    domain = forms.CharField(label=gettext_lazy("Mail domain"), max_length=253, required=False)
    owner = forms.CharField(label=gettext_lazy("Owner's email address"), max_length=254, required=False)


def _percent(used: int, quota: int) -> int:
    return min(100, int(100 * used / quota)) if quota else 0


def _with_usage(summary: dict) -> dict:
    summary["lists_percent"] = _percent(summary["lists"], summary["quota_lists"])
    summary["members_percent"] = _percent(summary["members"], summary["quota_members"])
    return summary


@host_admin
def tenants(request: HttpRequest) -> HttpResponse:
    rows = [_with_usage(s) for s in queries.tenant_summaries()]
    return render(request, "web/admin_tenants.html", {"tenants": rows})


@host_admin
@require_http_methods(["GET", "POST"])
def create_tenant(request: HttpRequest) -> HttpResponse:
    form = TenantForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            tenant, password = services.create_tenant_with_owner(
                data["slug"], data["name"], domain=data["domain"] or None, owner=data["owner"] or None
            )
        except PoplistError as exc:
            form.add_error(None, str(exc))
        else:
            if password:
                messages.success(
                    request,
                    _("Tenant %(slug)s created. The owner's password: %(password)s (shown once).")
                    % {"slug": tenant.slug, "password": password},
                )
            else:
                messages.success(request, _("Tenant %(slug)s created.") % {"slug": tenant.slug})
            return redirect("web:admin_tenant", slug=tenant.slug)
    return render(request, "web/admin_tenant_new.html", {"form": form}, status=400 if form.errors else 200)


@host_admin
def tenant_page(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = services.get_tenant(slug)
    summary = _with_usage(queries.tenant_summary(tenant))
    owners = list(tenant.users.values_list("email", flat=True)[:50])
    return render(request, "web/admin_tenant.html", {"tenant": tenant, "summary": summary, "owners": owners})


@host_admin
@require_POST
def change_status(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = services.get_tenant(slug)
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")[:500]
    try:
        if action == "suspend":
            services.suspend_tenant(tenant, reason=reason, actor=request.user.email)
            messages.success(request, _("%(slug)s is suspended; its owners were told by mail.") % {"slug": slug})
        elif action == "reactivate":
            services.reactivate_tenant(tenant, actor=request.user.email)
            messages.success(request, _("%(slug)s is active again.") % {"slug": slug})
        elif action == "close":
            services.close_tenant(tenant, reason=reason, actor=request.user.email)
            messages.success(request, _("%(slug)s is closed.") % {"slug": slug})
        else:
            messages.error(request, _("Unknown action."))
    except PoplistError as exc:
        messages.error(request, str(exc))
    return redirect("web:admin_tenant", slug=slug)
