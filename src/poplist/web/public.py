"""Public pages of a list: subscribe, confirm, unsubscribe. Views parse, call services, render."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from poplist.core.errors import InvalidInput
from poplist.lists import members as roster
from poplist.lists import oneclick, services, subscriptions
from poplist.lists.models import MailingList, Member, PendingRequest
from poplist.lists.subscriptions import Origin, Outcome
from poplist.web import archive_queries, ratelimit

# Subscriptions per client IP per hour, and confirmation mails per address per hour: a form
# cannot be used to flood someone's mailbox.
SUBSCRIBE_PER_IP = 20
SUBSCRIBE_PER_ADDRESS = 3


class SubscribeForm(forms.Form):
    email = forms.CharField(label=_("Email address"), max_length=254)
    name = forms.CharField(label=_("Your name (optional)"), max_length=200, required=False)


class EmailForm(forms.Form):
    email = forms.CharField(label=_("Email address"), max_length=254)


def _origin(request: HttpRequest, via: str = Member.Via.WEB) -> Origin:
    return Origin(via=via, ip=request.META.get("REMOTE_ADDR"), actor="self")


def _in_language(request: HttpRequest, mailing_list: MailingList | None):
    """Pages of a list speak its language; error pages raised inside follow (see the middleware)."""
    language = mailing_list.language if mailing_list else translation.get_language()
    request.poplist_language = language
    return translation.override(language)


@require_http_methods(["GET", "POST"])
def list_page(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = services.get_list(address)
    with _in_language(request, mailing_list):
        form = SubscribeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            ratelimit.hit(f"subscribe-ip:{request.META.get('REMOTE_ADDR')}", limit=SUBSCRIBE_PER_IP)
            ratelimit.hit(f"subscribe-to:{form.cleaned_data['email'].strip().lower()}", limit=SUBSCRIBE_PER_ADDRESS)
            try:
                outcome = subscriptions.request_subscription(
                    mailing_list, form.cleaned_data["email"], name=form.cleaned_data["name"], origin=_origin(request)
                )
            except InvalidInput as exc:
                form.add_error("email", str(exc))
            else:
                # The same answer whether or not the address was a member already: no roster leak.
                shown = Outcome.CONFIRMATION_SENT if outcome == Outcome.ALREADY_MEMBER else outcome
                return render(request, "web/subscribe_done.html", {"list": mailing_list, "outcome": shown.value})
        status = 400 if form.errors else 200
        context = {"list": mailing_list, "form": form, "recent": archive_queries.recent(mailing_list, request)}
        return render(request, "web/list.html", context, status=status)


@require_http_methods(["GET", "POST"])
def leave_page(request: HttpRequest, address: str) -> HttpResponse:
    """Unsubscribe by address: a confirmation goes to the address, so nobody can remove someone else."""
    mailing_list = services.get_list(address)
    with _in_language(request, mailing_list):
        form = EmailForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                subscriptions.request_unsubscription(mailing_list, form.cleaned_data["email"], origin=_origin(request))
            except InvalidInput as exc:
                form.add_error("email", str(exc))
            else:
                return render(request, "web/leave_requested.html", {"list": mailing_list})
        status = 400 if form.errors else 200
        return render(request, "web/leave.html", {"list": mailing_list, "form": form}, status=status)


def _pending_list(token: str) -> MailingList | None:
    from poplist.core.tokens import token_digest

    found = PendingRequest.objects.select_related("mailing_list").filter(token_digest=token_digest(token)).first()
    return found.mailing_list if found else None


@require_http_methods(["GET", "POST"])
def confirm_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (link scanners must not confirm for the person); POST confirms."""
    with _in_language(request, _pending_list(token)):
        if request.method == "GET":
            request_obj = subscriptions.pending_by_token(token)
            return render(request, "web/confirm.html", {"pending": request_obj, "list": request_obj.mailing_list})
        outcome, pending = subscriptions.confirm(token, origin=_origin(request))
        return render(
            request,
            "web/confirm_done.html",
            {"list": pending.mailing_list, "outcome": outcome.value, "pending": pending},
        )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    """The List-Unsubscribe URL. POST `List-Unsubscribe=One-Click` (RFC 8058): no login, no CSRF, idempotent.

    GET shows a page whose button posts, with a CSRF token, to unsubscribe_confirm.
    """
    if request.method == "POST":  # the hot path: see lists/oneclick.py
        if request.POST.get("List-Unsubscribe") != "One-Click":
            raise InvalidInput(_("This address only accepts one-click unsubscription requests."))
        oneclick.unsubscribe(token, ip=request.META.get("REMOTE_ADDR"))
        return HttpResponse("unsubscribed\n", content_type="text/plain")
    member = subscriptions.member_for_unsubscribe_token(token)
    mailing_list = member.mailing_list if member else None
    with _in_language(request, mailing_list):
        return render(request, "web/unsubscribe.html", {"member": member, "list": mailing_list, "token": token})


@require_http_methods(["POST"])
def unsubscribe_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The page's buttons: leave, or stay with a digest, or pause (no mail) instead."""
    member = subscriptions.member_for_unsubscribe_token(token)
    mailing_list = member.mailing_list if member else None
    choice = request.POST.get("choice", "leave")
    with _in_language(request, mailing_list):
        if member is not None and choice in {"digest", "pause"}:
            mode = Member.DeliveryMode.MIME_DIGEST if choice == "digest" else Member.DeliveryMode.NOMAIL
            roster.set_member_options(member, actor=member.email, delivery_mode=mode)
            return render(
                request, "web/unsubscribe_kept.html", {"list": mailing_list, "choice": choice, "token": token}
            )
        subscriptions.unsubscribe_by_token(token, origin=_origin(request))
        return render(request, "web/unsubscribed.html", {"list": mailing_list})


@require_http_methods(["POST"])
def set_language(request: HttpRequest) -> HttpResponse:
    """The EN/FR switch: saved on the user when logged in, in a cookie otherwise."""
    from django.conf import settings
    from django.utils.http import url_has_allowed_host_and_scheme

    language = request.POST.get("language", "")
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = redirect(target)
    if language in dict(settings.LANGUAGES):
        if request.user.is_authenticated:
            request.user.language = language
            request.user.save(update_fields=["language"])
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 86400, samesite="Lax")
    return response


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        if request.user.tenant_id is None and request.user.is_superuser:
            return redirect("web:admin_tenants")
        return redirect("web:dashboard")
    return render(request, "web/home.html")
