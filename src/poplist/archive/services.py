"""Archiving posts and threading them (References / In-Reply-To, then the subject)."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from poplist.archive.models import ArchivedMessage, Thread
from poplist.core.mime import header_text, parse_message, plain_text_of
from poplist.lists.models import MailingList

SUBJECT_THREADING_WINDOW = timedelta(days=30)
_MSGID = re.compile(r"<[^<>\s]+>")
_PREFIXES = re.compile(r"^\s*((re|fw|fwd|tr|aw|sv|vs|réf|rép)\s*(\[\d+\])?\s*:\s*|\[[^\]]{1,40}\]\s*)+", re.IGNORECASE)


def permalink_id(message_id: str) -> str:
    digest = hashlib.sha1(message_id.strip().encode("utf-8", "surrogateescape")).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def normalize_subject(subject: str) -> str:
    """'Re: [list] Fwd: Hello' -> 'hello': what replies to one subject have in common."""
    return " ".join(_PREFIXES.sub("", subject or "").split()).lower()[:500]


def message_ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


def archive_message(
    mailing_list: MailingList,
    raw: bytes,
    *,
    message_id: str | None = None,
    received_at: datetime | None = None,
    live: bool = True,
    message: EmailMessage | None = None,
    subject: str | None = None,
) -> ArchivedMessage:
    """Store a post in the list's archive (idempotent on Message-ID); call inside the acceptance transaction.

    `live` posts arrive now: a Date header days away from the arrival time is a wrong clock
    and the arrival time is used. Imported archives (`live=False`) keep their Date headers.
    Inbound passes the `message` it parsed already, and the `subject` its author wrote (the
    prepared bytes carry the list's prefix).
    """
    message = message if message is not None else parse_message(raw)
    read = functools.partial(header_text, message)
    message_id = message_id or (message_ids(read("Message-ID")) or [""])[0]
    if not message_id:
        message_id = f"<{hashlib.sha1(raw).hexdigest()}@poplist.invalid>"
    pid = permalink_id(message_id)
    received_at = received_at or timezone.now()
    date = _sane_date(message, received_at, live)
    subject = " ".join((read("Subject") if subject is None else subject).split())[:500]
    author_name, author_email = _author(read("From"))
    in_reply_to = (message_ids(read("In-Reply-To")) or [""])[0]
    references = message_ids(read("References"))
    body_text, has_attachments = plain_text_of(message)
    try:
        # Idempotent by the unique (list, permalink) index, not by a SELECT first: one query less per post.
        return _store(
            mailing_list,
            raw,
            message_id,
            pid,
            subject,
            (author_name, author_email),
            in_reply_to,
            references,
            date,
            received_at,
            body_text,
            has_attachments,
        )
    except IntegrityError:
        existing = ArchivedMessage.objects.filter(mailing_list=mailing_list, permalink_id=pid).first()
        if existing is None:
            raise
        return existing


def _store(
    mailing_list,
    raw,
    message_id,
    pid,
    subject,
    author,
    in_reply_to,
    references,
    date,
    received_at,
    body_text,
    has_attachments,
) -> ArchivedMessage:
    author_name, author_email = author
    with transaction.atomic():
        parent = _find_parent(mailing_list, in_reply_to, references)
        thread = parent.thread if parent else _thread_by_subject(mailing_list, subject, date)
        if thread is None:
            thread = Thread.objects.create(
                mailing_list=mailing_list,
                permalink_id=pid,
                subject=subject,
                normalized_subject=normalize_subject(subject),
                started_at=date,
                last_activity=date,
                message_count=1,  # counted here: one UPDATE less per new thread
            )
            new_thread = True
        else:
            new_thread = False
        archived = ArchivedMessage.objects.create(
            mailing_list=mailing_list,
            thread=thread,
            parent=parent,
            message_id=message_id[:998],
            permalink_id=pid,
            in_reply_to=in_reply_to[:998],
            references=" ".join(references),
            subject=subject,
            author_name=author_name,
            author_email=author_email,
            date=date,
            archived_at=received_at,
            body_text=body_text,
            has_attachments=has_attachments,
            size=len(raw),
            raw=raw,
        )
        if not new_thread:
            changes = {"message_count": F("message_count") + 1}
            if date > thread.last_activity:
                changes["last_activity"] = date
            Thread.objects.filter(pk=thread.pk).update(**changes)
    return archived


def _find_parent(mailing_list: MailingList, in_reply_to: str, references: list[str]) -> ArchivedMessage | None:
    candidates = [in_reply_to, *reversed(references)] if in_reply_to else list(reversed(references))
    for candidate in candidates:
        if candidate:
            found = (
                ArchivedMessage.objects.filter(mailing_list=mailing_list, permalink_id=permalink_id(candidate))
                .select_related("thread")
                .first()
            )
            if found:
                return found
    return None


def _thread_by_subject(mailing_list: MailingList, subject: str, date: datetime) -> Thread | None:
    """A reply whose client dropped References still joins the recent thread with its subject."""
    normalized = normalize_subject(subject)
    if not normalized or not _PREFIXES.match(subject or ""):
        return None  # only replies ("Re: …") join by subject; a new post with a common subject starts a thread
    return (
        Thread.objects.filter(
            mailing_list=mailing_list,
            normalized_subject=normalized,
            last_activity__gte=date - SUBJECT_THREADING_WINDOW,
        )
        .order_by("-last_activity")
        .first()
    )


def _sane_date(message: EmailMessage, received_at: datetime, live: bool) -> datetime:
    # The raw value: the default policy's Date header would parse it, format it, and we would parse it again.
    value = next((str(v) for k, v in message.raw_items() if k.lower() == "date"), "")
    try:
        date = parsedate_to_datetime(" ".join(value.split()))
    except (TypeError, ValueError, IndexError):
        return received_at
    if date is None:
        return received_at
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    # A clock far off (or a forged date) would misplace the post: keep arrival time then.
    if live and abs(date - received_at) > timedelta(days=2):
        return received_at
    return date


def _author(from_header: str) -> tuple[str, str]:
    try:
        pairs = getaddresses([from_header])
    except (TypeError, ValueError, IndexError):
        return "", ""
    name, address = pairs[0] if pairs else ("", "")
    return name[:200], address[:254]
