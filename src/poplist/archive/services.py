"""Archiving posts and threading them (References / In-Reply-To, then the subject)."""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from poplist.archive.models import ArchivedMessage, Thread
from poplist.core import rows
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


@dataclass
class Entry:
    """What the archive keeps of one post, read from its headers and body (no database work)."""

    raw: bytes
    message_id: str
    permalink_id: str
    subject: str
    author_name: str
    author_email: str
    in_reply_to: str
    references: list[str]
    date: datetime
    received_at: datetime
    body_text: str
    has_attachments: bool

    def parent_permalinks(self) -> list[str]:
        """The permalinks of the posts this one may answer, nearest first."""
        ids = [self.in_reply_to, *reversed(self.references)] if self.in_reply_to else list(reversed(self.references))
        return [permalink_id(i) for i in ids if i]


def describe(
    raw: bytes,
    *,
    message: EmailMessage | None = None,
    message_id: str | None = None,
    received_at: datetime | None = None,
    live: bool = True,
    subject: str | None = None,
    read: Callable[[str], str] | None = None,
    body: tuple[str, bool] | None = None,
    author: tuple[str, str] | None = None,
) -> Entry:
    """Read a post for the archive. `live` posts arrive now: a Date header days away from the arrival
    time is a wrong clock and the arrival time is used; imported archives (`live=False`) keep theirs.
    Inbound passes what it parsed already: the `message`, a cached header `read`er, the `body` text,
    the `author` (name, address), and the `subject` its author wrote (the prepared bytes carry the
    list's prefix)."""
    message = message if message is not None else parse_message(raw)
    read = read or functools.partial(header_text, message)
    message_id = message_id or (message_ids(read("Message-ID")) or [""])[0]
    if not message_id:
        message_id = f"<{hashlib.sha1(raw).hexdigest()}@poplist.invalid>"
    received_at = received_at or timezone.now()
    author_name, author_email = _author(read("From")) if author is None else (author[0][:200], author[1][:254])
    body_text, has_attachments = body if body is not None else plain_text_of(message)
    return Entry(
        raw=raw,
        message_id=message_id[:998],
        permalink_id=permalink_id(message_id),
        subject=" ".join((read("Subject") if subject is None else subject).split())[:500],
        author_name=author_name,
        author_email=author_email,
        in_reply_to=(message_ids(read("In-Reply-To")) or [""])[0][:998],
        references=message_ids(read("References")),
        date=_sane_date(message, received_at, live),
        received_at=received_at,
        body_text=body_text,
        has_attachments=has_attachments,
    )


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
    """Store a post in the list's archive (idempotent on Message-ID), inside the caller's transaction."""
    entry = describe(raw, message=message, message_id=message_id, received_at=received_at, live=live, subject=subject)
    try:
        return archive_entries(mailing_list, [entry])[0]
    except IntegrityError:  # archived meanwhile by another connection
        existing = ArchivedMessage.objects.filter(mailing_list=mailing_list, permalink_id=entry.permalink_id).first()
        if existing is None:
            raise
        return existing


def archive_entries(mailing_list: MailingList, entries: list[Entry]) -> list[ArchivedMessage]:
    """Archive and thread several posts of one list in arrival order, each reply after its parent.

    One SELECT finds the posts already archived and the parents named by References (one more the
    recent threads a reply without them may join by subject); the new threads and posts go in with
    one INSERT each: inbound archives a whole group commit this way, inside the acceptance
    transaction. Hand-written SQL (`core.rows`): through the ORM the archive was 290 µs of a post's
    1.7 ms of CPU in the writer (SQLite, /tmp A/B of bench/inbound.py's posts), most of it compiling
    the statements. Idempotent on Message-ID; an IntegrityError means another connection archived
    one of them meanwhile.
    """
    wanted = {e.permalink_id for e in entries} | {p for e in entries for p in e.parent_permalinks()}
    threads: dict[int, Thread] = {}  # one object per thread id, so the batch sees its own changes
    known: dict[str, tuple[int | ArchivedMessage, Thread]] = {}  # permalink -> (post, its thread)
    for pid, pk, thread_id in _archived(mailing_list, wanted):
        known[pid] = (pk, threads.setdefault(thread_id, Thread(pk=thread_id)))
    recent = _recent_threads(mailing_list, [e for e in entries if not _parent_in(e, known)], threads)
    results: list[int | ArchivedMessage] = []
    new_threads: list[Thread] = []
    plan: list[tuple[ArchivedMessage, Thread, int | ArchivedMessage | None]] = []  # post, thread, parent
    added: dict[int, int] = {}  # existing thread id -> posts added to it
    for entry in entries:
        if entry.permalink_id in known:
            results.append(known[entry.permalink_id][0])
            continue
        parent = _parent_in(entry, known)
        thread = parent[1] if parent is not None else _joined_by_subject(recent, entry)
        if thread is None:
            thread = Thread(
                mailing_list=mailing_list,
                permalink_id=entry.permalink_id,
                subject=entry.subject,
                normalized_subject=normalize_subject(entry.subject),
                started_at=entry.date,
                last_activity=entry.date,
                message_count=0,  # counted below, before the INSERT: no UPDATE for a new thread
            )
            new_threads.append(thread)
            recent.setdefault(thread.normalized_subject, []).append(thread)
        elif thread.pk is not None:
            added[thread.pk] = added.get(thread.pk, 0) + 1
        thread.message_count += 1
        if thread.last_activity is None or entry.date > thread.last_activity:
            thread.last_activity = entry.date
        archived = ArchivedMessage(
            mailing_list=mailing_list,
            message_id=entry.message_id,
            permalink_id=entry.permalink_id,
            in_reply_to=entry.in_reply_to,
            references=" ".join(entry.references),
            subject=entry.subject,
            author_name=entry.author_name,
            author_email=entry.author_email,
            date=entry.date,
            archived_at=entry.received_at,
            body_text=entry.body_text,
            has_attachments=entry.has_attachments,
            size=len(entry.raw),
            raw=entry.raw,
        )
        plan.append((archived, thread, parent[0] if parent is not None else None))
        known[entry.permalink_id] = (archived, thread)
        results.append(archived)
    with transaction.atomic():
        rows.insert(Thread, new_threads)
        for wave in _parents_first(plan):
            for archived, thread, parent in wave:  # ids known now: the thread's and the parent's wave went in
                archived.thread_id = thread.pk
                archived.parent_id = parent if isinstance(parent, int) or parent is None else parent.pk
            rows.insert(ArchivedMessage, [archived for archived, _thread, _parent in wave])
        _count_replies(added, threads)
    return _loaded(results)


def _parent_in(entry: Entry, known: dict) -> tuple | None:
    return next((known[p] for p in entry.parent_permalinks() if p in known), None)


def _archived(mailing_list: MailingList, permalinks: set[str]) -> list[tuple[str, int, int]]:
    """(permalink, id, thread id) of the list's posts among these permalinks."""
    found: list[tuple[str, int, int]] = []
    ordered = sorted(permalinks)
    table = rows.quote(ArchivedMessage._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), 500):  # SQLite bounds the parameters of one query
            chunk = ordered[start : start + 500]
            cursor.execute(
                f"SELECT permalink_id, id, thread_id FROM {table} "
                f"WHERE mailing_list_id = %s AND permalink_id IN ({', '.join(['%s'] * len(chunk))})",
                [mailing_list.pk, *chunk],
            )
            found += cursor.fetchall()
    return found


def _count_replies(added: dict[int, int], threads: dict[int, Thread]) -> None:
    """Existing threads get relative counts: a post archived meanwhile by another connection stays counted."""
    if not added:
        return
    table = rows.quote(Thread._meta.db_table)
    params = []
    for pk, count in added.items():
        last = connection.ops.adapt_datetimefield_value(threads[pk].last_activity)
        params.append([count, last, last, pk])
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET message_count = message_count + %s, "
            "last_activity = CASE WHEN last_activity < %s THEN %s ELSE last_activity END WHERE id = %s",
            params,
        )


def _loaded(results: list[int | ArchivedMessage]) -> list[ArchivedMessage]:
    """Posts archived before (by id) loaded whole: a duplicate gets the entry it already has."""
    ids = [r for r in results if isinstance(r, int)]
    if not ids:
        return results  # type: ignore[return-value]
    loaded = ArchivedMessage.objects.select_related("thread").in_bulk(ids)
    return [loaded[r] if isinstance(r, int) else r for r in results]


def _replies_by_subject(entry: Entry) -> bool:
    """Only replies ("Re: …") join by subject; a new post with a common subject starts a thread."""
    return bool(normalize_subject(entry.subject)) and bool(_PREFIXES.match(entry.subject or ""))


def _recent_threads(
    mailing_list: MailingList, entries: list[Entry], threads: dict[int, Thread]
) -> dict[str, list[Thread]]:
    """The threads a reply whose client dropped References may join, by normalised subject."""
    replies = [e for e in entries if _replies_by_subject(e)]
    recent: dict[str, list[Thread]] = {}
    if not replies:
        return recent
    subjects = sorted({normalize_subject(e.subject) for e in replies})
    since = min(e.date for e in replies) - SUBJECT_THREADING_WINDOW
    for start in range(0, len(subjects), 500):
        for found in Thread.objects.filter(
            mailing_list=mailing_list, normalized_subject__in=subjects[start : start + 500], last_activity__gte=since
        ):
            thread = threads.setdefault(found.pk, found)
            if thread is not found:  # known as a parent's thread already: one object for both
                thread.last_activity = max(thread.last_activity or found.last_activity, found.last_activity)
            recent.setdefault(found.normalized_subject, []).append(thread)
    return recent


def _joined_by_subject(recent: dict[str, list[Thread]], entry: Entry) -> Thread | None:
    if not _replies_by_subject(entry):
        return None
    since = entry.date - SUBJECT_THREADING_WINDOW
    candidates = [t for t in recent.get(normalize_subject(entry.subject), []) if t.last_activity >= since]
    return max(candidates, key=lambda t: t.last_activity, default=None)


def _parents_first(plan: list[tuple]) -> list[list[tuple]]:
    """Waves to insert: a reply to a post of the same batch goes in after it (its parent needs an id)."""
    depth: dict[int, int] = {}
    waves: list[list[tuple]] = []
    for item in plan:  # arrival order: a parent of the batch comes before its replies
        archived, _thread, parent = item
        level = depth[id(parent)] + 1 if isinstance(parent, ArchivedMessage) and id(parent) in depth else 0
        depth[id(archived)] = level
        if level == len(waves):
            waves.append([])
        waves[level].append(item)
    return waves


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
