"""Reads of the archive for the web pages: months, threads, keyset-paged messages, full-text search.

Search uses the database's own engine: SQLite FTS5 (a contentless-by-reference table kept by
triggers) or PostgreSQL's GIN index on to_tsvector('simple', …); see archive/migrations/0002_web_search.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.db import connection
from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from poplist.archive.models import ArchivedMessage, Thread
from poplist.lists.models import MailingList

LISTING = ("pk", "permalink_id", "subject", "author_name", "author_email", "date", "thread_id", "has_attachments")
_WORD = re.compile(r"\w+", re.UNICODE)


def can_read(mailing_list: MailingList, request) -> bool:
    """Public archives: anyone. Private: the tenant's users, or a member who logged in by magic link."""
    if mailing_list.archive_policy == MailingList.ArchivePolicy.PUBLIC:
        return True
    if mailing_list.archive_policy == MailingList.ArchivePolicy.NONE:
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.tenant_id == mailing_list.tenant_id:
        return True
    return mailing_list.pk in request.session.get("archive_lists", [])


def recent(mailing_list: MailingList, request, limit: int = 5) -> list[ArchivedMessage]:
    if not can_read(mailing_list, request):
        return []
    return list(ArchivedMessage.objects.filter(mailing_list=mailing_list).order_by("-date").only(*LISTING)[:limit])


def months(mailing_list: MailingList) -> list[dict]:
    """[{month: date, n: count}] newest first."""
    rows = (
        ArchivedMessage.objects.filter(mailing_list=mailing_list)
        .annotate(month=TruncMonth("date"))
        .values("month")
        .annotate(n=Count("id"))
        .order_by("-month")
    )
    return list(rows)


def month_range(year: int, month: int) -> tuple[datetime, datetime]:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def month_threads(mailing_list: MailingList, year: int, month: int) -> list[Thread]:
    start, end = month_range(year, month)
    return list(
        Thread.objects.filter(mailing_list=mailing_list, started_at__gte=start, started_at__lt=end).order_by(
            "-last_activity"
        )[:1000]
    )


def month_messages(mailing_list: MailingList, year: int, month: int, limit: int = 1000) -> list[ArchivedMessage]:
    start, end = month_range(year, month)
    return list(
        ArchivedMessage.objects.filter(mailing_list=mailing_list, date__gte=start, date__lt=end)
        .order_by("date", "pk")
        .only(*LISTING)[:limit]
    )


def latest_threads(mailing_list: MailingList, limit: int = 20) -> list[Thread]:
    return list(Thread.objects.filter(mailing_list=mailing_list).order_by("-last_activity")[:limit])


def thread_tree(thread: Thread, limit: int = 2000) -> list[tuple[int, ArchivedMessage]]:
    """(depth, message) in reading order: each reply under its parent, siblings by date."""
    messages = list(
        ArchivedMessage.objects.filter(thread=thread).order_by("date", "pk").only(*LISTING, "parent_id")[:limit]
    )
    by_id = {m.pk: m for m in messages}
    children: dict[int | None, list[ArchivedMessage]] = {}
    for message in messages:
        parent = message.parent_id if message.parent_id in by_id else None
        children.setdefault(parent, []).append(message)
    ordered: list[tuple[int, ArchivedMessage]] = []
    stack = [(0, m) for m in reversed(children.get(None, []))]
    while stack:
        depth, message = stack.pop()
        ordered.append((depth, message))
        stack.extend((depth + 1, child) for child in reversed(children.get(message.pk, [])))
    return ordered


def get_message(mailing_list: MailingList, permalink: str) -> ArchivedMessage | None:
    return ArchivedMessage.objects.filter(mailing_list=mailing_list, permalink_id=permalink).first()


def get_thread(mailing_list: MailingList, permalink: str) -> Thread | None:
    return Thread.objects.filter(mailing_list=mailing_list, permalink_id=permalink).first()


def iter_raw(mailing_list: MailingList, start: datetime | None = None, end: datetime | None = None, batch: int = 200):
    """(raw bytes, date, author) of every message, oldest first, keyset-paged: flat memory for mbox downloads."""
    query = ArchivedMessage.objects.filter(mailing_list=mailing_list)
    if start is not None:
        query = query.filter(date__gte=start, date__lt=end)
    last_date, last_pk = None, 0
    while True:
        page = query
        if last_date is not None:
            page = page.filter(date__gt=last_date) | query.filter(date=last_date, pk__gt=last_pk)
        rows = list(page.order_by("date", "pk").values_list("pk", "date", "author_email", "raw")[:batch])
        if not rows:
            return
        last_pk, last_date = rows[-1][0], rows[-1][1]
        for _pk, date, author, raw in rows:
            yield bytes(raw), date, author


# --- Search -----------------------------------------------------------------------------------------------


def terms(query: str) -> list[str]:
    return _WORD.findall(query)[:12]


def search(mailing_list: MailingList, query: str, limit: int = 50) -> list[ArchivedMessage]:
    words = terms(query)
    if not words:
        return []
    if connection.vendor == "sqlite":
        # Each word quoted: user input never reaches FTS5's query syntax (AND, NEAR, column filters…).
        match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        sql = (
            "SELECT m.id FROM archive_fts JOIN archive_archivedmessage m ON m.id = archive_fts.rowid "
            "WHERE archive_fts MATCH %s AND m.mailing_list_id = %s ORDER BY archive_fts.rank LIMIT %s"
        )
        params = [match, mailing_list.pk, limit]
    else:
        sql = (
            "SELECT id FROM archive_archivedmessage WHERE mailing_list_id = %s AND "
            "to_tsvector('simple', subject || ' ' || author_name || ' ' || body_text) @@ plainto_tsquery('simple', %s) "
            "ORDER BY ts_rank(to_tsvector('simple', subject || ' ' || author_name || ' ' || body_text), "
            "plainto_tsquery('simple', %s)) DESC, date DESC LIMIT %s"
        )
        params = [mailing_list.pk, " ".join(words), " ".join(words), limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    found = ArchivedMessage.objects.in_bulk(ids)
    return [found[i] for i in ids if i in found]


def snippet(text: str, words: list[str], width: int = 110) -> SafeString:
    """A piece of `text` around the first word found, escaped, with the words marked."""
    lowered = text.lower()
    positions = [lowered.find(w.lower()) for w in words if lowered.find(w.lower()) >= 0]
    start = max(min(positions, default=0) - width // 2, 0)
    piece = " ".join(text[start : start + width * 2].split())
    pattern = re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)), re.IGNORECASE)
    parts, last = [], 0
    for found in pattern.finditer(piece):
        parts.append(escape(piece[last : found.start()]))
        parts.append(f"<mark>{escape(found.group())}</mark>")
        last = found.end()
    parts.append(escape(piece[last:]))
    html = "".join(parts)
    return mark_safe(("… " if start else "") + html + (" …" if start + width * 2 < len(text) else ""))
