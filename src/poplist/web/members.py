"""The console's members pages: search and filters with keyset paging, add/remove, options, import, export."""

from __future__ import annotations

import csv
import json
from email.utils import parseaddr

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from poplist.core.errors import InvalidInput
from poplist.lists import import_jobs, services
from poplist.lists import members as roster
from poplist.lists import queries as list_queries
from poplist.lists.models import ImportJob, Member, Suppression
from poplist.lists.subscriptions import Origin
from poplist.web import queries
from poplist.web.console import list_of
from poplist.web.forms import AddMembersForm, ImportForm, MemberOptionsForm, SuppressionForm


def _origin(request: HttpRequest) -> Origin:
    return Origin(via=Member.Via.OWNER, ip=request.META.get("REMOTE_ADDR"), actor=request.user.email)


def _choice(value: str, allowed) -> str:
    return value if value in allowed else ""


@login_required
@require_http_methods(["GET", "POST"])
def members_page(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    add_form = AddMembersForm(request.POST or None)
    if request.method == "POST" and add_form.is_valid():
        lines = [line.strip() for line in add_form.cleaned_data["emails"].splitlines() if line.strip()][:1000]
        emails = [parseaddr(line)[1] or line for line in lines]  # "Ann <ann@example.org>" too
        changes = roster.add_members(
            mailing_list, emails, origin=_origin(request), force=add_form.cleaned_data["force"]
        )
        added = [c for c in changes if c.result == "added"]
        if added:
            messages.success(request, _("Added %(n)s member(s).") % {"n": len(added)})
        for change in changes:
            if change.result != "added":
                messages.error(request, f"{change.email}: {_describe(change.result, change.detail)}")
        return redirect("web:members", address=mailing_list.address)
    role = _choice(request.GET.get("role", "member"), Member.Role.values) or Member.Role.MEMBER
    filters = {
        "role": role,
        "delivery_mode": _choice(request.GET.get("mode", ""), Member.DeliveryMode.values),
        "status": _choice(request.GET.get("status", ""), Member.Status.values),
        "query": request.GET.get("q", "")[:254],
    }
    page = queries.members_page(
        mailing_list, **filters, after=request.GET.get("after", "")[:254], before=request.GET.get("before", "")[:254]
    )
    context = {
        "list": mailing_list,
        "page": page,
        "filters": filters,
        "add_form": add_form,
        "roles": Member.Role.choices,
        "modes": Member.DeliveryMode.choices,
        "statuses": Member.Status.choices,
        "query_string": _query_string(filters),
        # One reverse() for the page, not one per row: rows are the page's cost at 50 per page.
        "member_prefix": reverse("web:members", args=[mailing_list.address]),
    }
    template = "web/members_rows.html" if request.headers.get("X-Requested-With") == "fetch" else "web/members.html"
    return render(request, template, context, status=400 if add_form.errors else 200)


def _query_string(filters: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(
        {
            key: value
            for key, value in {
                "role": filters["role"],
                "mode": filters["delivery_mode"],
                "status": filters["status"],
                "q": filters["query"],
            }.items()
            if value
        }
    )


def _describe(result: str, detail: str) -> str:
    return {
        "already_member": _("already a member"),
        "suppressed": _("left or was removed before; tick the consent box to add it again"),
        "invalid": detail or _("not a valid address"),
        "not_a_member": _("not a member"),
    }.get(result, result)


@login_required
@require_POST
def remove_members(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    emails = request.POST.getlist("email")[:1000]
    changes = roster.remove_members(mailing_list, emails, origin=_origin(request), goodbye=False)
    removed = sum(1 for c in changes if c.result == "removed")
    messages.success(request, _("Removed %(n)s member(s).") % {"n": removed})
    return redirect(
        request.POST.get("next") if _safe_next(request) else f"/console/lists/{mailing_list.address}/members/"
    )


def _safe_next(request: HttpRequest) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})


@login_required
@require_http_methods(["GET", "POST"])
def member_page(request: HttpRequest, address: str, email: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    member = roster.get_member(mailing_list, email)
    initial = {
        "display_name": member.display_name,
        "delivery_mode": member.delivery_mode,
        "moderated": member.moderated,
        "enabled": member.status == Member.Status.ENABLED,
    }
    form = MemberOptionsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        roster.set_member_options(
            member,
            actor=request.user.email,
            display_name=data["display_name"],
            delivery_mode=data["delivery_mode"],
            moderated=data["moderated"],
        )
        if data["enabled"] != (member.status == Member.Status.ENABLED):
            roster.set_member_enabled(member, data["enabled"], reason="by_owner", actor=request.user.email)
        messages.success(request, _("Saved."))
        return redirect("web:member", address=mailing_list.address, email=member.email)
    from poplist.lists.models import MemberEvent

    history = MemberEvent.objects.filter(mailing_list=mailing_list, email=member.email).order_by("-pk")[:50]
    return render(
        request, "web/member.html", {"list": mailing_list, "member": member, "form": form, "history": history}
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
def export_members(request: HttpRequest, address: str) -> StreamingHttpResponse:
    """The whole roster as CSV, streamed in keyset-paged batches: flat memory at any size."""
    mailing_list = list_of(request, address)
    fields = list_queries.EXPORT_FIELDS
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(fields)
        for member in list_queries.iter_members(mailing_list, role=None if request.GET.get("all") else "member"):
            yield writer.writerow(
                [
                    json.dumps(member[f]) if f == "attributes" else ("" if member[f] is None else member[f])
                    for f in fields
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{mailing_list.local_part}-members.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = import_jobs.queue_upload(
                mailing_list,
                upload,
                source=ImportJob.WEB_PREFIX + (upload.name or "upload.csv"),
                mode=form.cleaned_data["mode"],
                actor=request.user.email,
            )
        except InvalidInput as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("web:import_job", address=mailing_list.address, job_id=job.pk)
    recent = import_jobs.recent_jobs(mailing_list)
    status = 400 if form.errors else 200
    return render(request, "web/import.html", {"list": mailing_list, "form": form, "recent": recent}, status=status)


@login_required
def import_job(request: HttpRequest, address: str, job_id: int) -> HttpResponse:
    mailing_list = list_of(request, address)
    job = import_jobs.get_job(mailing_list, job_id)
    template = (
        "web/import_progress.html" if request.headers.get("X-Requested-With") == "fetch" else "web/import_job.html"
    )
    return render(request, template, {"list": mailing_list, "job": job})


@login_required
@require_http_methods(["GET", "POST"])
def suppressions_page(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    form = SuppressionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        from poplist.core import addresses

        try:
            email = addresses.normalize(form.cleaned_data["email"])
        except InvalidInput as exc:
            form.add_error("email", str(exc))
        else:
            services.suppress(mailing_list, email, Suppression.Reason.MANUAL, note=form.cleaned_data["note"])
            messages.success(request, _("%(email)s will not be added by imports.") % {"email": email})
            return redirect("web:suppressions", address=mailing_list.address)
    query = request.GET.get("q", "")[:254]
    after = request.GET.get("after", "")
    page = queries.suppressions_page(mailing_list, query=query, after=int(after) if after.isdigit() else 0)
    status = 400 if form.errors else 200
    return render(
        request, "web/suppressions.html", {"list": mailing_list, "page": page, "form": form, "q": query}, status=status
    )


@login_required
@require_POST
def lift_suppression(request: HttpRequest, address: str, suppression_id: int) -> HttpResponse:
    mailing_list = list_of(request, address)
    found = Suppression.objects.filter(mailing_list=mailing_list, pk=suppression_id).first()
    if found:
        services.lift_suppression(mailing_list, found.email)
        messages.success(request, _("%(email)s may be added again.") % {"email": found.email})
    return redirect("web:suppressions", address=mailing_list.address)
