"""Reads behind the console's pages: keyset-paged members and lists, the dashboard's figures.

Every page reads a bounded number of rows through an index, so it costs the same at 10 members
or 1,000,000 (bench/web.py measures it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import CharField, Count, Func, Q, Sum
from django.utils import timezone

from poplist.accounts.models import Tenant
from poplist.core.discovery import domain_modules
from poplist.lists.models import ImportRun, MailingList, Member, MemberEvent, PendingRequest, Suppression

PAGE_SIZE = 50
_TOP = "\U0010ffff"  # sorts after every character: the end of a prefix range


@dataclass
class Page:
    rows: list
    next_after: str | None = None  # keyset cursor of the next page
    prev_before: str | None = None  # keyset cursor of the previous page
    filters: dict = field(default_factory=dict)


def _prefix(column: str, text: str) -> Q:
    """`column` starts with `text`, as a range the (list, column) index answers without scanning."""
    return Q(**{f"{column}__gte": text, f"{column}__lt": text + _TOP})


def members_page(
    mailing_list: MailingList,
    *,
    role: str = Member.Role.MEMBER,
    delivery_mode: str = "",
    status: str = "",
    query: str = "",
    after: str = "",
    before: str = "",
    size: int = PAGE_SIZE,
) -> Page:
    """One page of a list's members in address order, after (or before) a cursor address.

    Search matches the start of the address or of the name (index ranges, not a scan), in the
    case typed and in lower case.
    """
    rows = Member.objects.filter(mailing_list=mailing_list, role=role)
    if delivery_mode:
        rows = rows.filter(delivery_mode=delivery_mode)
    if status:
        rows = rows.filter(status=status)
    query = query.strip()
    if query:
        variants = {query, query.lower()}
        match = Q()
        for text in variants:
            match |= _prefix("email", text)
            match |= _prefix("display_name", text)
        rows = rows.filter(match)
    if before:
        found = list(rows.filter(email__lt=before).order_by("-email")[: size + 1])
        has_more = len(found) > size
        found = list(reversed(found[:size]))
        page = Page(found, next_after=found[-1].email if found else None)
        page.prev_before = found[0].email if has_more and found else None
        return page
    if after:
        rows = rows.filter(email__gt=after)
    found = list(rows.order_by("email")[: size + 1])
    page = Page(found[:size])
    if len(found) > size:
        page.next_after = found[size - 1].email
    if after and found:
        page.prev_before = found[0].email
    return page


def lists_page(tenant: Tenant, *, query: str = "", after: str = "", size: int = PAGE_SIZE) -> Page:
    """A tenant's lists in address order, keyset-paged (a tenant may have thousands)."""
    rows = MailingList.objects.filter(tenant=tenant).select_related("domain")
    if query:
        rows = rows.filter(Q(address__icontains=query) | Q(display_name__icontains=query))
    if after:
        rows = rows.filter(address__gt=after)
    found = list(rows.order_by("address")[: size + 1])
    page = Page(found[:size])
    if len(found) > size:
        page.next_after = found[size - 1].address
    return page


def suppressions_page(mailing_list: MailingList, *, query: str = "", after: int = 0, size: int = PAGE_SIZE) -> Page:
    rows = Suppression.objects.filter(
        Q(mailing_list=mailing_list) | Q(tenant_id=mailing_list.tenant_id, mailing_list=None)
    )
    if query:
        rows = rows.filter(email__icontains=query)
    if after:
        rows = rows.filter(pk__lt=after)
    found = list(rows.order_by("-pk")[: size + 1])
    page = Page(found[:size])
    if len(found) > size:
        page.next_after = str(found[size - 1].pk)
    return page


def pending_requests(mailing_list: MailingList):
    return PendingRequest.objects.filter(mailing_list=mailing_list, state=PendingRequest.State.PENDING).order_by(
        "created_at"
    )[:500]


# --- Dashboard ---------------------------------------------------------------------------------------

CHART_DAYS = 60


def _start(day: date):
    """Midnight UTC of `day`: compare the indexed column itself, not a date computed from it."""
    from datetime import UTC, datetime, time

    return datetime.combine(day, time.min, tzinfo=UTC)


def _days(since: date, until: date) -> list[date]:
    return [since + timedelta(days=n) for n in range((until - since).days + 1)]


class UTCDay(Func):
    """The UTC day of a timestamp column as 'YYYY-MM-DD', computed by the database itself.

    Django's TruncDate calls a Python function per row on SQLite: 5,600 events took 33 ms of the
    dashboard's ~75 ms (bench/web.py, 100,000 members, 2 cores). SQLite stores UTC timestamps as
    ISO text, so the day is the first ten characters.
    """

    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 10)", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        return self.as_sql(compiler, connection, template=template, **extra)


def _day(value) -> date | None:
    return date.fromisoformat(value) if value else None


def _daily(rows, key: str = "day") -> dict[date, int]:
    return {_day(row[key]): row["n"] for row in rows if row[key] is not None}


def subscribers_series(lists, count: int, days: int = CHART_DAYS) -> list[tuple[date, int]]:
    """Members at the end of each day, walked back from today's `count` through joins and departures.

    `lists` is a MailingList queryset (a tenant's, or one list): read as a subquery, never as ids in Python.
    """
    today = timezone.now().date()
    since = today - timedelta(days=days - 1)
    events = (
        MemberEvent.objects.filter(mailing_list__in=lists, created_at__gte=_start(since))
        .filter(action__in=["subscribed", "unsubscribed", "removed"])
        .annotate(day=UTCDay("created_at"))
        .values("day", "action")
        .annotate(n=Count("id"))
    )
    change: dict[date, int] = {}
    for row in events:
        day = _day(row["day"])
        change[day] = change.get(day, 0) + (row["n"] if row["action"] == "subscribed" else -row["n"])
    imports = (
        ImportRun.objects.filter(mailing_list__in=lists, finished_at__gte=_start(since))
        .annotate(day=UTCDay("finished_at"))
        .values("day")
        .annotate(n=Count("id"), added=Sum("added"))
    )
    for row in imports:
        day = _day(row["day"])
        change[day] = change.get(day, 0) + (row["added"] or 0)
    series = []
    for day in reversed(_days(since, today)):
        series.append((day, max(count, 0)))
        count -= change.get(day, 0)
    return list(reversed(series))


def posts_series(lists, days: int = CHART_DAYS) -> list[tuple[date, int]]:
    """Archived posts per day. (Copies sent per day come from delivery's DASHBOARD_SERIES.)"""
    from poplist.archive.models import ArchivedMessage

    today = timezone.now().date()
    since = today - timedelta(days=days - 1)
    rows = (
        ArchivedMessage.objects.filter(mailing_list__in=lists, date__gte=_start(since))
        .annotate(day=UTCDay("date"))
        .values("day")
        .annotate(n=Count("id"))
    )
    counts = _daily(rows)
    return [(day, counts.get(day, 0)) for day in _days(since, today)]


def domain_series(lists, days: int = CHART_DAYS) -> list[tuple[str, list[tuple[date, int]]]]:
    """Series other domains offer: `DASHBOARD_SERIES = [(label, fn(lists queryset, since date) -> {date: n})]`."""
    today = timezone.now().date()
    since = today - timedelta(days=days - 1)
    found = []
    for module in domain_modules("views"):
        if module.__name__ == "poplist.web.views":
            continue
        for label, function in getattr(module, "DASHBOARD_SERIES", ()) or ():
            counts = function(lists, since)
            found.append((str(label), [(day, counts.get(day, 0)) for day in _days(since, today)]))
    return found


def domain_list_stats(lists: list[MailingList]) -> list[tuple[str, dict[int, object]]]:
    """Columns other domains add to the lists table: `LIST_STATS = [(label, fn(lists) -> {list id: value})]`."""
    found = []
    for module in domain_modules("views"):
        for label, function in getattr(module, "LIST_STATS", ()) or ():
            found.append((str(label), function(lists)))
    return found


def posts_per_list(lists: list[MailingList], days: int = 30) -> dict[int, int]:
    from poplist.archive.models import ArchivedMessage

    since = timezone.now() - timedelta(days=days)
    rows = (
        ArchivedMessage.objects.filter(mailing_list_id__in=[m.pk for m in lists], date__gte=since)
        .values("mailing_list_id")
        .annotate(n=Count("id"))
    )
    return {row["mailing_list_id"]: row["n"] for row in rows}


def pending_per_list(lists: list[MailingList]) -> dict[int, int]:
    rows = (
        PendingRequest.objects.filter(
            mailing_list_id__in=[m.pk for m in lists],
            kind=PendingRequest.Kind.APPROVAL,
            state=PendingRequest.State.PENDING,
        )
        .values("mailing_list_id")
        .annotate(n=Count("id"))
    )
    return {row["mailing_list_id"]: row["n"] for row in rows}
