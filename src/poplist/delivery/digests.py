"""Digests: the posts of a list gathered into one message for members in digest mode.

Every accepted post is also kept as a `DigestItem` (in inbound's transaction, by enqueue_post).
A list's digest goes out when its items pass `digest_size_kb`, or, when `digest_daily` is on,
for items of a previous UTC day. It becomes two delivery jobs, one per digest format, sent by
the same engine as posts (so personalised, signed, crash-safe):
- MIME (`mime_digest` members): multipart/mixed with a table of contents, a multipart/digest of
  the posts as message/rfc822 parts, and a footer with the member's unsubscribe link;
- plain text (`plain_digest` members): RFC 1153, with "Today's Topics" and the 70/30-dash
  separators (a body line of 30 dashes is shifted by a space so it cannot end a message).
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
from datetime import datetime, time
from email.message import EmailMessage, Message
from email.utils import formatdate, make_msgid

from django.db import transaction
from django.db.models import Min, Sum
from django.utils import timezone

from poplist.delivery import personalize
from poplist.delivery.models import DeliveryJob, DigestItem
from poplist.lists.models import MailingList, Member

DIGEST_MODES = ("mime_digest", "plain_digest")
SEPARATOR_70 = "-" * 70
SEPARATOR_30 = "-" * 30


def due_lists(now: datetime | None = None) -> list[int]:
    """Lists whose digest should go out now."""
    now = now or timezone.now()
    midnight = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    rows = DigestItem.objects.values("mailing_list_id").annotate(size=Sum("size"), oldest=Min("created_at"))
    lists = {m.pk: m for m in MailingList.objects.filter(pk__in=[r["mailing_list_id"] for r in rows])}
    due = []
    for row in rows:
        mailing_list = lists[row["mailing_list_id"]]
        if row["size"] >= mailing_list.digest_size_kb * 1024 or (
            mailing_list.digest_daily and row["oldest"] < midnight
        ):
            due.append(mailing_list.pk)
    return due


def send_due_digests() -> int:
    """Queue the digests that are due; returns how many jobs were queued."""
    return sum(queue_digest(list_id) for list_id in due_lists())


def queue_digest(list_id: int) -> int:
    """Turn a list's pending items into a MIME and a plain digest job, in one transaction."""
    with transaction.atomic():
        mailing_list = MailingList.objects.select_related("domain").get(pk=list_id)
        items = list(DigestItem.objects.filter(mailing_list=mailing_list).order_by("id"))
        if not items:
            return 0
        readers = Member.objects.filter(
            mailing_list=mailing_list, role="member", status="enabled", delivery_mode__in=DIGEST_MODES
        )
        if not readers.exists():  # nobody reads digests: forget the items, queue nothing
            DigestItem.objects.filter(pk__in=[i.pk for i in items]).delete()
            return 0
        issue = DeliveryJob.objects.filter(mailing_list=mailing_list, kind=DeliveryJob.Kind.DIGEST).count() // 2 + 1
        posts = [email.message_from_bytes(bytes(i.message), policy=email.policy.compat32) for i in items]
        subject = f"{mailing_list.display_name} Digest, Vol 1, Issue {issue}"
        message_id = make_msgid(domain=mailing_list.domain.name)
        for mode, raw in (
            ("mime_digest", mime_digest(mailing_list, posts, subject, message_id)),
            ("plain_digest", plain_digest(mailing_list, posts, subject, message_id)),
        ):
            DeliveryJob.objects.create(
                mailing_list=mailing_list,
                kind=DeliveryJob.Kind.DIGEST,
                delivery_mode=mode,
                message=raw,
                message_id=message_id,
            )
        DigestItem.objects.filter(pk__in=[i.pk for i in items]).delete()
    return 2


def _headers(message: EmailMessage, mailing_list: MailingList, subject: str, message_id: str) -> None:
    message["From"] = mailing_list.role_address("request")
    message["To"] = mailing_list.address
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    message["List-Id"] = f"{mailing_list.display_name} <{mailing_list.address.replace('@', '.')}>"
    message["List-Post"] = f"<mailto:{mailing_list.address}>"
    message["MIME-Version"] = "1.0"


def _topics(posts: list[Message]) -> str:
    lines = []
    for number, post in enumerate(posts, 1):
        author = email.utils.parseaddr(str(post.get("From", "")))
        lines.append(f"   {number}. {_text_header(post, 'Subject')} ({author[0] or author[1]})")
    return "\n".join(lines)


def _text_header(post: Message, name: str) -> str:
    value = post.get(name, "")
    return str(email.header.make_header(email.header.decode_header(value))) if value else ""


def _footer() -> str:
    return (
        f"\n{SEPARATOR_30}\nLeave this list: {personalize.UNSUBSCRIBE_URL.decode()}\n"
        f"Your settings: {personalize.PREFERENCES_URL.decode()}\n"
    )


def mime_digest(mailing_list: MailingList, posts: list[Message], subject: str, message_id: str) -> bytes:
    digest = EmailMessage(policy=email.policy.SMTP)
    _headers(digest, mailing_list, subject, message_id)
    digest.make_mixed()
    toc = EmailMessage(policy=email.policy.SMTP)
    toc.set_content(f"Today's Topics:\n\n{_topics(posts)}\n", cte="8bit")
    collection = EmailMessage(policy=email.policy.SMTP)
    collection.set_type("multipart/digest")
    for post in posts:
        part = EmailMessage(policy=email.policy.SMTP)
        part.set_type("message/rfc822")
        part.set_payload([post])
        del part["MIME-Version"]
        collection.attach(part)
    footer = EmailMessage(policy=email.policy.SMTP)
    footer.set_content(_footer(), cte="7bit")
    for piece in (toc, collection, footer):
        del piece["MIME-Version"]
        digest.attach(piece)
    return digest.as_bytes(policy=email.policy.SMTP)


def _body_text(post: Message) -> str:
    for part in post.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            payload = part.get_payload(decode=True) or b""
            return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return "[This message has no plain-text part.]"


def plain_digest(mailing_list: MailingList, posts: list[Message], subject: str, message_id: str) -> bytes:
    """RFC 1153: a preamble with the topics, each message with Date/From/Subject, fixed separators."""
    out = [f"Today's Topics:\n\n{_topics(posts)}\n", SEPARATOR_70, ""]
    for post in posts:
        for name in ("Date", "From", "Subject", "Message-ID"):
            if post.get(name):
                out.append(f"{name}: {_text_header(post, name)}")
        out.append("")
        body = [(" " + line if line.startswith(SEPARATOR_30) else line) for line in _body_text(post).splitlines()]
        out += body
        out += ["", SEPARATOR_30, ""]
    end = f"End of {subject}"
    out += [end, "*" * len(end), _footer()]
    digest = EmailMessage(policy=email.policy.SMTP)
    _headers(digest, mailing_list, subject, message_id)
    digest.set_content("\n".join(out) + "\n", cte="8bit" if not all(line.isascii() for line in out) else "7bit")
    return digest.as_bytes(policy=email.policy.SMTP)
