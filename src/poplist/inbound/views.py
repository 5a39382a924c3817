"""Owners' pages for the moderation queue: held posts shown safely, decided one by one or in bulk."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from poplist.core.errors import PoplistError
from poplist.inbound import moderation
from poplist.inbound.render import readable
from poplist.web.console import list_of

CONSOLE_TABS = [(gettext_lazy("Held messages"), "inbound:held")]
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
