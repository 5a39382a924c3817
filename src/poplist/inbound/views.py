"""Owners' pages: the moderation queue (held posts shown safely, decided one by one or in bulk) and the
list's filters (banned and accepted senders, header filters)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from poplist.core.errors import PoplistError
from poplist.inbound import filters as filter_services
from poplist.inbound import moderation
from poplist.inbound.models import SenderFilter
from poplist.inbound.render import readable
from poplist.lists.models import MailingList
from poplist.web.console import list_of

CONSOLE_TABS = [(gettext_lazy("Held messages"), "inbound:held"), (gettext_lazy("Filters"), "inbound:filters")]
DECISIONS = ("approve", "accept", "reject", "discard")


def _decide_all(request: HttpRequest, mailing_list, ids: list[str]) -> None:
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "").strip()[:500]
    if decision not in DECISIONS:
        messages.error(request, _("Unknown decision %(decision)s.") % {"decision": decision[:20]})
        return
    done = 0
    for held_id in ids:
        try:
            held = moderation.get_held(mailing_list, int(held_id))
            moderation.decide(held, decision, actor=request.user.email, reason=reason)
            done += 1
        except (ValueError, PoplistError) as exc:
            messages.error(request, str(exc) if isinstance(exc, PoplistError) else _("Choose at least one message."))
    if done:
        messages.success(request, _("%(count)s message(s): %(decision)s.") % {"count": done, "decision": decision})


@login_required
@require_http_methods(["GET", "POST"])
def held(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    if request.method == "POST":
        ids = request.POST.getlist("ids")
        if not ids:
            messages.error(request, _("Choose at least one message."))
        else:
            _decide_all(request, mailing_list, ids)
        return redirect("inbound:held", address=mailing_list.address)
    return render(
        request, "inbound/held.html", {"list": mailing_list, "held": list(moderation.pending(mailing_list)[:200])}
    )


@login_required
@require_http_methods(["GET", "POST"])
def held_message(request: HttpRequest, address: str, held_id: int) -> HttpResponse:
    mailing_list = list_of(request, address)
    item = moderation.get_held(mailing_list, held_id)
    if request.method == "POST":
        _decide_all(request, mailing_list, [str(item.pk)])
        return redirect("inbound:held", address=mailing_list.address)
    view = readable(bytes(item.inbound.raw))
    return render(request, "inbound/held_message.html", {"list": mailing_list, "item": item, "view": view})


def _change_filters(request: HttpRequest, mailing_list) -> str:
    """Apply one form of the filters page; the message to show. Raises PoplistError on bad input."""
    op = request.POST.get("op", "")
    actor = request.user.email
    if op == "add_sender":
        kind = request.POST.get("kind", "")
        added = filter_services.add_sender(mailing_list, kind, request.POST.get("pattern", ""), actor=actor)
        return _("%(pattern)s added.") % {"pattern": added.pattern}
    if op == "remove_sender":
        pattern = request.POST.get("pattern", "")
        filter_services.remove_sender(mailing_list, request.POST.get("kind", ""), pattern)
        return _("%(pattern)s removed.") % {"pattern": pattern}
    if op == "add_header":
        added = filter_services.add_header_filter(
            mailing_list,
            request.POST.get("header", ""),
            request.POST.get("pattern", ""),
            request.POST.get("action", ""),
        )
        return _("Filter on %(header)s added.") % {"header": added.header}
    if op == "remove_header":
        try:
            filter_id = int(request.POST.get("id", ""))
        except ValueError:
            filter_id = 0
        filter_services.remove_header_filter(mailing_list, filter_id)
        return _("Header filter removed.")
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def filters(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = list_of(request, address)
    if request.method == "POST":
        try:
            done = _change_filters(request, mailing_list)
        except PoplistError as exc:
            messages.error(request, str(exc))
        else:
            if done:
                messages.success(request, done)
        return redirect("inbound:filters", address=mailing_list.address)
    senders = filter_services.senders(mailing_list)
    return render(
        request,
        "inbound/filters.html",
        {
            "list": mailing_list,
            "banned": [s for s in senders if s.kind == SenderFilter.Kind.BAN],
            "accepted": [s for s in senders if s.kind == SenderFilter.Kind.ACCEPT],
            "header_filters": filter_services.header_filters(mailing_list),
            "actions": MailingList.Action.choices,
        },
    )
