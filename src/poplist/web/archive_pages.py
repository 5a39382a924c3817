"""The archive's pages: index by month, threads, message permalinks, attachments, search, Atom, mbox.

Permalinks are `/lists/<address>/archive/<permalink>/` with permalink = archive.services.permalink_id(Message-ID):
inbound writes them into List-Archive and Archived-At, so they never change.
"""

from __future__ import annotations

from email.message import EmailMessage

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import feedgenerator, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from poplist.core.mime import parse_message, part_text
from poplist.lists import services
from poplist.lists.models import MailingList, Member
from poplist.web import archive_queries as aq
from poplist.web import magic, ratelimit
from poplist.web.sanitize import clean_html, obfuscate_address, obfuscate_text


def _readable_list(request: HttpRequest, address: str) -> MailingList:
    """The list, if its archive exists and this visitor may read it; else 404 (private: the login page)."""
    mailing_list = services.get_list(address)
    if mailing_list.archive_policy == MailingList.ArchivePolicy.NONE:
        raise Http404
    if not aq.can_read(mailing_list, request):
        raise _LoginNeeded(mailing_list)
    return mailing_list


class _LoginNeeded(Exception):
    def __init__(self, mailing_list: MailingList) -> None:
        self.mailing_list = mailing_list


def _archive_view(view):
    """Pages of a list speak its language; a private archive sends strangers to its login page."""

    def wrapped(request: HttpRequest, address: str, *args, **kwargs):
        try:
            probe = services.get_list(address)
        except Exception:
            raise Http404 from None
        request.poplist_language = probe.language
        with translation.override(probe.language):
            try:
                return view(request, address, *args, **kwargs)
            except _LoginNeeded as needed:
                return redirect("web:archive_login", address=needed.mailing_list.address)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _public(request: HttpRequest, mailing_list: MailingList) -> bool:
    """Addresses are hidden from everyone but the list's tenant users."""
    user = request.user
    return not (user.is_authenticated and user.tenant_id == mailing_list.tenant_id)


def _base(mailing_list: MailingList, **extra) -> dict:
    return {"list": mailing_list, **extra}


@_archive_view
def index(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = _readable_list(request, address)
    context = _base(mailing_list, months=aq.months(mailing_list), threads=aq.latest_threads(mailing_list))
    return render(request, "web/archive_index.html", context)


@_archive_view
def month(request: HttpRequest, address: str, year: int, month: int) -> HttpResponse:
    mailing_list = _readable_list(request, address)
    if not 1 <= month <= 12 or not 1970 <= year <= 9999:
        raise Http404
    view = "messages" if request.GET.get("view") == "messages" else "threads"
    context = _base(mailing_list, year=year, month=month, view=view, month_start=aq.month_range(year, month)[0])
    if view == "threads":
        context["threads"] = aq.month_threads(mailing_list, year, month)
    else:
        context["messages"] = aq.month_messages(mailing_list, year, month)
    return render(request, "web/archive_month.html", context)


@_archive_view
def thread(request: HttpRequest, address: str, permalink: str) -> HttpResponse:
    mailing_list = _readable_list(request, address)
    found = aq.get_thread(mailing_list, permalink)
    if found is None:
        raise Http404
    tree = aq.thread_tree(found)
    return render(request, "web/archive_thread.html", _base(mailing_list, thread=found, tree=tree))


def _rendered(message: EmailMessage, public: bool) -> dict:
    """Text first; HTML only when there is no text, and only through the sanitiser. Attachments listed."""
    text, html, attachments = None, None, []
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        content_type = part.get_content_type()
        if (
            disposition == "attachment"
            or not content_type.startswith("text/")
            or (text is not None and content_type == "text/plain")
        ):
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                {
                    "index": index,
                    "name": part.get_filename() or f"part-{index}",
                    "type": content_type,
                    "size": len(payload),
                }
            )
            continue
        if content_type == "text/plain" and text is None:
            text = part_text(part)
        elif content_type == "text/html" and html is None:
            html = part_text(part)
    if public:
        text = obfuscate_text(text) if text is not None else None
        html = obfuscate_text(html) if html is not None else None
    return {
        "text": text,
        "html": clean_html(html) if html is not None and text is None else None,
        "attachments": attachments,
    }


@_archive_view
def message(request: HttpRequest, address: str, permalink: str) -> HttpResponse:
    mailing_list = _readable_list(request, address)
    found = aq.get_message(mailing_list, permalink)
    if found is None:
        raise Http404
    public = _public(request, mailing_list)
    parsed = parse_message(bytes(found.raw))
    context = _base(
        mailing_list,
        message=found,
        body=_rendered(parsed, public),
        author=obfuscate_address(found.author_email) if public else found.author_email,
        tree=aq.thread_tree(found.thread, limit=200),
        thread=found.thread,
    )
    return render(request, "web/archive_message.html", context)


@_archive_view
def attachment(request: HttpRequest, address: str, permalink: str, index: int) -> HttpResponse:
    mailing_list = _readable_list(request, address)
    found = aq.get_message(mailing_list, permalink)
    if found is None:
        raise Http404
    parts = list(parse_message(bytes(found.raw)).walk())
    if not 0 <= index < len(parts) or parts[index].is_multipart():
        raise Http404
    part = parts[index]
    name = (part.get_filename() or f"part-{index}").replace('"', "").replace("\r", "").replace("\n", "")
    # Always a download, never rendered by the browser: an HTML attachment must not run on our origin.
    response = HttpResponse(part.get_payload(decode=True) or b"", content_type="application/octet-stream")
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


@_archive_view
def raw(request: HttpRequest, address: str, permalink: str) -> HttpResponse:
    mailing_list = _readable_list(request, address)
    if _public(request, mailing_list):
        raise Http404  # the raw source shows every address: owners only
    found = aq.get_message(mailing_list, permalink)
    if found is None:
        raise Http404
    return HttpResponse(bytes(found.raw), content_type="text/plain; charset=utf-8")


@_archive_view
def search(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = _readable_list(request, address)
    query = request.GET.get("q", "")[:200]
    words = aq.terms(query)
    results = [
        (m, aq.snippet(obfuscate_text(m.body_text) if _public(request, mailing_list) else m.body_text, words))
        for m in aq.search(mailing_list, query)
    ]
    return render(request, "web/archive_search.html", _base(mailing_list, q=query, results=results))


@_archive_view
def feed(request: HttpRequest, address: str) -> HttpResponse:
    mailing_list = _readable_list(request, address)
    if mailing_list.archive_policy != MailingList.ArchivePolicy.PUBLIC:
        raise Http404  # a feed reader cannot log in
    link = settings.BASE_URL + reverse("web:archive_index", args=[mailing_list.address])
    atom = feedgenerator.Atom1Feed(
        title=mailing_list.display_name,
        link=link,
        description=mailing_list.description,
        language=mailing_list.language,
        feed_url=settings.BASE_URL + request.path,
    )
    from poplist.archive.models import ArchivedMessage

    latest = ArchivedMessage.objects.filter(mailing_list=mailing_list).order_by("-date").defer("raw")[:50]
    for item in latest:
        url = settings.BASE_URL + reverse("web:archive_message", args=[mailing_list.address, item.permalink_id])
        atom.add_item(
            title=item.subject or _("(no subject)"),
            link=url,
            description=obfuscate_text(item.body_text[:2000]),
            author_name=item.author_name or obfuscate_address(item.author_email),
            pubdate=item.date,
            unique_id=url,
        )
    return HttpResponse(atom.writeString("utf-8"), content_type="application/atom+xml; charset=utf-8")


def _mbox(mailing_list: MailingList, filename: str, start=None, end=None) -> StreamingHttpResponse:
    """mboxrd: each message after a From_ line, body lines starting with (>*)From quoted once more."""
    import re

    quote = re.compile(rb"^(>*From )", re.MULTILINE)

    def chunks():
        for raw_bytes, date, author in aq.iter_raw(mailing_list, start, end):
            envelope = (author or "MAILER-DAEMON").encode("ascii", "replace")
            yield b"From " + envelope + b" " + date.strftime("%a %b %d %H:%M:%S %Y").encode() + b"\n"
            body = raw_bytes.replace(b"\r\n", b"\n")
            yield quote.sub(rb">\1", body).rstrip(b"\n") + b"\n\n"

    response = StreamingHttpResponse(chunks(), content_type="application/mbox")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@_archive_view
def mbox_month(request: HttpRequest, address: str, year: int, month: int) -> StreamingHttpResponse:
    mailing_list = _readable_list(request, address)
    if not 1 <= month <= 12 or not 1970 <= year <= 9999:
        raise Http404
    start, end = aq.month_range(year, month)
    return _mbox(mailing_list, f"{mailing_list.local_part}-{year}-{month:02d}.mbox", start, end)


@_archive_view
def mbox_all(request: HttpRequest, address: str) -> StreamingHttpResponse:
    mailing_list = _readable_list(request, address)
    return _mbox(mailing_list, f"{mailing_list.local_part}.mbox")


@_archive_view
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest, address: str) -> HttpResponse:
    """Members of a private archive ask for a link by mail; the answer never says who is a member."""
    mailing_list = services.get_list(address)
    if mailing_list.archive_policy == MailingList.ArchivePolicy.NONE:
        raise Http404
    sent = False
    if request.method == "POST":
        from poplist.core import addresses
        from poplist.delivery.notices import send_list_notice

        ratelimit.hit(f"archive-login:{request.META.get('REMOTE_ADDR')}", limit=20)
        try:
            email = addresses.normalize(request.POST.get("email", ""))
        except Exception:
            email = ""
        if email and Member.objects.filter(mailing_list=mailing_list, email=email).exists():
            ratelimit.hit(f"archive-login-to:{email}", limit=5)
            send_list_notice(
                "archive_login", mailing_list, email, {"url": magic.link("archive", mailing_list.pk, email)}
            )
        sent = True
    return render(request, "web/archive_login.html", _base(mailing_list, sent=sent))


def login_done(request: HttpRequest, token: str) -> HttpResponse:
    list_id, email = magic.read_token(token, "archive")
    mailing_list = MailingList.objects.filter(pk=list_id).first()
    if mailing_list is None or not Member.objects.filter(mailing_list=mailing_list, email=email).exists():
        raise Http404
    granted = set(request.session.get("archive_lists", []))
    granted.add(mailing_list.pk)
    request.session["archive_lists"] = sorted(granted)
    return redirect("web:archive_index", address=mailing_list.address)
