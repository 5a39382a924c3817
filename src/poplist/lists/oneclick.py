"""RFC 8058 one-click unsubscription: the hot path, in as few statements as the departure needs.

A request records the departure and answers: the member row is deleted (with what hangs on
it), the address suppressed, the history event written with `notices_pending` set, the list's
count lowered. The goodbye mail and the owners' notice are written later by the worker
(`send_departure_notices`) from the flagged events: composing a mail cost ~11 ms of the ~16 ms
the request took before (delivery.notices, email.headerregistry), and nothing is lost because
the event is committed with the departure.

Requests of one process share transactions (`core.groupcommit`): N waiting requests are one
BEGIN, ~6 statements and one fsync whatever N is. Measured with bench/web.py on 2 cores
(see docs/web.md): 45/s and p99 1.9 s before, see the docs for the figure after.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.db import connection, router, transaction
from django.db.models.deletion import CASCADE, SET_NULL, Collector, get_candidate_relations_to_delete
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.core import tokens
from poplist.core.errors import InvalidInput
from poplist.core.groupcommit import GroupCommit
from poplist.lists.models import MailingList, Member, MemberEvent, Suppression
from poplist.lists.subscriptions import UNSUBSCRIBE_PURPOSE, Outcome, _notify_owners

VIA = "one-click"
NOTICE_BATCH = 200


@dataclass(frozen=True)
class Leave:
    member_id: int
    ip: str | None


def unsubscribe(token: str, *, ip: str | None = None) -> Outcome:
    """Unsubscribe the member a List-Unsubscribe URL names; idempotent. A forged token: InvalidInput."""
    member_id = tokens.unsign_id(UNSUBSCRIBE_PURPOSE, token)
    if member_id is None:
        raise InvalidInput(_("This unsubscribe link is not valid."))
    job = Leave(member_id, ip)
    if connection.in_atomic_block:  # inside the caller's transaction (tests, scripts): join it
        return leave_many([job])[0]
    return _writer().run(job)


@cache
def _writer() -> GroupCommit:
    return GroupCommit(leave_many, name="poplist-one-click")


def stop_writer() -> None:
    """End this process's writer thread and its connection (tests, before the test database goes)."""
    if _writer.cache_info().currsize:
        _writer().stop()


def leave_many(jobs: Sequence[Leave]) -> list[Outcome]:
    """Record the departures of `jobs` in the current transaction; one Outcome per job."""
    if connection.vendor == "postgresql":
        gone = _leave_postgresql(jobs)
        return [Outcome.UNSUBSCRIBED if job.member_id in gone else Outcome.NOT_A_MEMBER for job in jobs]
    ids = sorted({job.member_id for job in jobs})
    marks = ", ".join(["%s"] * len(ids))
    member_table, list_table = Member._meta.db_table, MailingList._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT m.id, m.email, m.mailing_list_id, l.tenant_id, l.send_goodbye, l.notify_owners_on_membership "
            f"FROM {member_table} m JOIN {list_table} l ON l.id = m.mailing_list_id "
            f"WHERE m.id IN ({marks}) AND m.role = %s",
            [*ids, Member.Role.MEMBER],
        )
        found = {row[0]: row[1:] for row in cursor.fetchall()}
        if not found:
            return [Outcome.NOT_A_MEMBER] * len(jobs)
        gone = _delete_members(cursor, sorted(found))
    now = timezone.now()
    ip_of = {job.member_id: job.ip for job in jobs}
    left = [(member_id, *found[member_id]) for member_id in sorted(gone)]
    if left:
        _record(left, ip_of, now)
    return [Outcome.UNSUBSCRIBED if job.member_id in gone else Outcome.NOT_A_MEMBER for job in jobs]


def _delete_members(cursor, ids: list[int]) -> set[int]:
    """Delete the member rows and what hangs on them (other domains' rows); returns the ids deleted.

    The rows that refer to a member are found from the models (so a new relation is handled
    without a change here) and handled with one statement each, as Django's own delete would.
    """
    marks = ", ".join(["%s"] * len(ids))
    for statement in _dependent_statements():
        cursor.execute(statement.format(ids=marks), ids)
    cursor.execute(f"DELETE FROM {Member._meta.db_table} WHERE id IN ({marks}) RETURNING id", ids)
    return {row[0] for row in cursor.fetchall()}


@cache
def _dependent_statements() -> tuple[str, ...]:
    collector = Collector(using=router.db_for_write(Member))
    statements = []
    for relation in get_candidate_relations_to_delete(Member._meta):
        model, column = relation.related_model, relation.field.column
        table = model._meta.db_table
        if relation.on_delete is SET_NULL:
            statements.append(f"UPDATE {table} SET {column} = NULL WHERE {column} IN ({{ids}})")
        elif relation.on_delete is CASCADE and collector.can_fast_delete(model._base_manager.none()):
            statements.append(f"DELETE FROM {table} WHERE {column} IN ({{ids}})")
        else:  # a relation this path cannot handle in one statement: refuse at first use, loudly
            raise RuntimeError(f"one-click unsubscribe cannot delete {model.__name__} rows in one statement")
    return tuple(statements)


def _leave_postgresql(jobs: Sequence[Leave]) -> set[int]:
    """PostgreSQL: the whole departure of a batch in one statement (data-modifying CTEs), one round trip.

    Foreign keys are deferred to COMMIT (Django creates them DEFERRABLE INITIALLY DEFERRED), so the
    order of the sub-statements does not matter. Returns the ids of the members who left.
    """
    ip_of = {job.member_id: job.ip for job in jobs}
    requests = ", ".join(["(%s::bigint, %s::inet)"] * len(ip_of))
    params: list = [value for item in ip_of.items() for value in item]
    dependents = ", ".join(
        f"d{n} AS ({statement.format(ids='SELECT id FROM gone')})"
        for n, statement in enumerate(_dependent_statements())
    )
    now = timezone.now()
    sql = (
        f"WITH req(id, ip) AS (VALUES {requests}), "
        f"gone AS (DELETE FROM {Member._meta.db_table} m USING {MailingList._meta.db_table} l "
        "WHERE m.id IN (SELECT id FROM req) AND m.role = %s AND l.id = m.mailing_list_id "
        "RETURNING m.id, m.email, m.mailing_list_id, l.tenant_id, "
        "(l.send_goodbye OR l.notify_owners_on_membership) AS tell), "
        f"{dependents + ', ' if dependents else ''}"
        f"sup AS (INSERT INTO {Suppression._meta.db_table} "
        "(tenant_id, mailing_list_id, email, reason, note, created_at) "
        "SELECT tenant_id, mailing_list_id, email, %s, %s, %s FROM gone "
        "ON CONFLICT (mailing_list_id, email) WHERE mailing_list_id IS NOT NULL "
        "DO UPDATE SET reason = excluded.reason, note = excluded.note), "
        f"ev AS (INSERT INTO {MemberEvent._meta.db_table} "
        "(mailing_list_id, email, action, via, actor, ip, ref, detail, created_at, notices_pending) "
        "SELECT g.mailing_list_id, g.email, 'unsubscribed', %s, 'self', r.ip, '', "
        "'{}'::jsonb, %s, CASE WHEN g.tell THEN TRUE END FROM gone g JOIN req r ON r.id = g.id), "
        f"cnt AS (UPDATE {MailingList._meta.db_table} l SET member_count = l.member_count - c.n "
        "FROM (SELECT mailing_list_id, count(*) AS n FROM gone GROUP BY mailing_list_id) c "
        "WHERE l.id = c.mailing_list_id) "
        "SELECT id FROM gone"
    )
    params += [Member.Role.MEMBER, Suppression.Reason.UNSUBSCRIBED, VIA, now, VIA, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0] for row in cursor.fetchall()}


def _record(left: list[tuple], ip_of: dict[int, str | None], now) -> None:
    """Suppressions, history events and counts of the members who left: three statements in all.

    Written as SQL rather than through the ORM: the ORM's bulk_create and update() were 40% of
    a batch's CPU (0.46 of 1.13 ms per one-member batch, measured with cProfile on 2 cores).
    """
    at = connection.ops.adapt_datetimefield_value(now)
    detail = MemberEvent._meta.get_field("detail").get_db_prep_save({}, connection)
    suppressions = {(list_id, email): tenant for _id, email, list_id, tenant, _g, _n in left}
    events: list = []
    for member_id, email, list_id, _tenant, goodbye, notify in left:
        pending = True if goodbye or notify else None
        events += [list_id, email, "unsubscribed", VIA, "self", ip_of[member_id], "", detail, at, pending]
    with connection.cursor() as cursor:
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(suppressions))
        params: list = []
        for (list_id, email), tenant in suppressions.items():
            params += [tenant, list_id, email, Suppression.Reason.UNSUBSCRIBED, VIA, at]
        # A second departure keeps the first date and takes the new reason (as services.suppress).
        cursor.execute(
            f"INSERT INTO {Suppression._meta.db_table} (tenant_id, mailing_list_id, email, reason, note, created_at) "
            f"VALUES {values} ON CONFLICT (mailing_list_id, email) WHERE mailing_list_id IS NOT NULL "
            "DO UPDATE SET reason = excluded.reason, note = excluded.note",
            params,
        )
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(left))
        cursor.execute(
            f"INSERT INTO {MemberEvent._meta.db_table} (mailing_list_id, email, action, via, actor, ip, ref, detail, "
            f"created_at, notices_pending) VALUES {values}",
            events,
        )
        # Last: the list row is every concurrent unsubscribe's one shared lock; hold it the shortest time.
        for list_id, n in sorted(Counter(row[2] for row in left).items()):
            cursor.execute(
                f"UPDATE {MailingList._meta.db_table} SET member_count = member_count - %s WHERE id = %s", [n, list_id]
            )


# --- The worker's half ---------------------------------------------------------------------------------


def send_departure_notices(limit: int = NOTICE_BATCH) -> int:
    """Write the goodbye mails and owners' notices of recorded one-click departures; returns events handled."""
    with transaction.atomic():
        due = MemberEvent.objects.filter(notices_pending=True).select_related(
            "mailing_list__domain", "mailing_list__tenant"
        )
        due = due.order_by("id")[:limit]
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        events = list(due)
        for event in events:
            write_notices(event)
        MemberEvent.objects.filter(pk__in=[e.pk for e in events]).update(notices_pending=None)
    return len(events)


def write_notices(event: MemberEvent) -> None:
    from poplist.delivery.notices import send_list_notice

    mailing_list = event.mailing_list
    if mailing_list.send_goodbye:
        send_list_notice("goodbye", mailing_list, event.email, {"by_owner": False})
    if mailing_list.notify_owners_on_membership:
        _notify_owners(mailing_list, "owner_unsubscribed", {"email": event.email, "via": event.via})
