"""Notices: mails Poplist writes itself (confirmations, welcome, goodbye, owner notices).

Each notice is a pair of text templates, `templates/notices/<name>/<lang>/subject.txt` and
`body.txt`, rendered without HTML escaping and queued in the caller's transaction.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import cache
from pathlib import Path

from django.conf import settings
from django.template import Context, Engine

from poplist.delivery.models import OutboundMessage
from poplist.delivery.services import queue_message

LANGUAGES = ("en", "fr")


@cache
def _engine() -> Engine:
    return Engine(dirs=[Path(settings.PACKAGE_DIR) / "templates"], autoescape=False)


def render(name: str, language: str, context: dict) -> tuple[str, str]:
    language = language if language in LANGUAGES else "en"
    engine = _engine()
    ctx = Context({"base_url": settings.BASE_URL, **context})
    subject = engine.get_template(f"notices/{name}/{language}/subject.txt").render(ctx)
    body = engine.get_template(f"notices/{name}/{language}/body.txt").render(ctx)
    return " ".join(subject.split()), body.strip() + "\n"


def compose(
    *,
    subject: str,
    body: str,
    from_addr: str,
    from_name: str,
    to: str,
    domain: str,
    reply_to: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = Address(display_name=from_name, addr_spec=from_addr)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    if reply_to:
        message["Reply-To"] = reply_to
    for key, value in (extra_headers or {}).items():
        message[key] = value
    message.set_content(body, cte="quoted-printable" if not body.isascii() else "7bit")
    return message.as_bytes()


def send_list_notice(
    name: str,
    mailing_list,
    to: str,
    context: dict | None = None,
    *,
    reply_to: str | None = None,
    language: str | None = None,
    extra_headers: dict[str, str] | None = None,
) -> OutboundMessage:
    """Queue a notice from a list (From: list-owner@, envelope list-bounces@) in the list's language."""
    context = {"list": mailing_list, **(context or {})}
    subject, body = render(name, language or mailing_list.language, context)
    domain = mailing_list.domain.name
    raw = compose(
        subject=subject,
        body=body,
        from_addr=mailing_list.role_address("owner"),
        from_name=mailing_list.display_name,
        to=to,
        domain=domain,
        reply_to=reply_to,
        extra_headers=extra_headers,
    )
    return queue_message(
        mail_from=mailing_list.role_address("bounces"),
        recipients=[to],
        raw=raw,
        kind=name,
        tenant=mailing_list.tenant,
        mailing_list=mailing_list,
    )


def send_host_notice(name: str, to: str, context: dict, *, language: str = "en", tenant=None) -> OutboundMessage:
    """Queue a notice from the host itself (tenant status changes, admin reports)."""
    subject, body = render(name, language, context)
    sender = settings.ADMIN_EMAIL
    raw = compose(
        subject=subject,
        body=body,
        from_addr=sender,
        from_name="Poplist",
        to=to,
        domain=sender.rpartition("@")[2] or "localhost",
    )
    return queue_message(mail_from=sender, recipients=[to], raw=raw, kind=name, tenant=tenant)
