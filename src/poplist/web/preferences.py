"""Members' preferences through a magic link: delivery mode, digest, pause, leave. No password."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from poplist.core import addresses
from poplist.core.errors import InvalidInput, NotFound
from poplist.delivery.notices import send_list_notice
from poplist.lists import members as roster
from poplist.lists import services, subscriptions
from poplist.lists.models import MailingList, Member
from poplist.lists.subscriptions import Origin
from poplist.web import magic, ratelimit


class PreferencesForm(forms.Form):
    delivery_mode = forms.ChoiceField(
        label=_("How do you want to receive the list?"),
        choices=[
            (Member.DeliveryMode.REGULAR, _("Every message as it is posted")),
            (Member.DeliveryMode.MIME_DIGEST, _("A digest (several messages in one mail)")),
            (Member.DeliveryMode.PLAIN_DIGEST, _("A plain-text digest")),
            (Member.DeliveryMode.NOMAIL, _("Nothing for now (pause), but stay subscribed")),
        ],
        widget=forms.RadioSelect,
    )
    display_name = forms.CharField(label=_("Your name"), max_length=200, required=False)


@require_http_methods(["GET", "POST"])
def ask_link(request: HttpRequest, address: str) -> HttpResponse:
    """Ask for a link by mail; the answer is the same whether or not the address is subscribed."""
    mailing_list = services.get_list(address)
    request.poplist_language = mailing_list.language
    with translation.override(mailing_list.language):
        sent = False
        if request.method == "POST":
            ratelimit.hit(f"preferences-ip:{request.META.get('REMOTE_ADDR')}", limit=20)
            try:
                email = addresses.normalize(request.POST.get("email", ""))
            except InvalidInput:
                email = ""
            if email and Member.objects.filter(mailing_list=mailing_list, email=email, role="member").exists():
                ratelimit.hit(f"preferences-to:{email}", limit=5)
                url = magic.link("preferences", mailing_list.pk, email)
                send_list_notice("preferences_link", mailing_list, email, {"url": url})
            sent = True
        return render(request, "web/preferences_ask.html", {"list": mailing_list, "sent": sent})


@require_http_methods(["GET", "POST"])
def preferences_page(request: HttpRequest, token: str) -> HttpResponse:
    list_id, email = magic.read_token(token, "preferences")
    mailing_list = MailingList.objects.select_related("domain").filter(pk=list_id).first()
    if mailing_list is None:
        raise NotFound(_("There is no such list."))
    request.poplist_language = mailing_list.language
    with translation.override(mailing_list.language):
        member = Member.objects.filter(mailing_list=mailing_list, email=email, role="member").first()
        if member is None:
            return render(request, "web/unsubscribed.html", {"list": mailing_list})
        form = PreferencesForm(
            request.POST or None, initial={"delivery_mode": member.delivery_mode, "display_name": member.display_name}
        )
        saved = False
        if request.method == "POST":
            if request.POST.get("leave"):
                origin = Origin(via=Member.Via.WEB, ip=request.META.get("REMOTE_ADDR"), actor=email)
                subscriptions.unsubscribe(mailing_list, email, origin=origin)
                return render(request, "web/unsubscribed.html", {"list": mailing_list})
            if form.is_valid():
                roster.set_member_options(member, actor=email, **form.cleaned_data)
                saved = True
        context = {"list": mailing_list, "member": member, "form": form, "saved": saved}
        return render(request, "web/preferences.html", context, status=400 if form.errors else 200)
