"""A bounce names a member even when it writes the local part in another case than the list stores it.

Poplist stores addresses as written (local part kept, domain lower-cased: core.addresses), and
providers treat John.Doe@ and john.doe@ as one mailbox. When two members differ only in case, a
bounce that matches neither exactly names nobody: penalising the wrong one is worse than missing.
"""

from __future__ import annotations

import pytest
from django.db import connection

from poplist.bounces import services
from poplist.bounces.models import BounceEvent, BounceScore
from poplist.lists.models import Member
from poplist.lists.subscriptions import Origin, subscribe
from poplist.testing.fixtures_bounces import dsn

pytestmark = pytest.mark.django_db


def add(mailing_list, email: str) -> Member:
    subscribe(mailing_list, email, origin=Origin(via="owner", actor="test"), welcome=False)
    return Member.objects.get(mailing_list=mailing_list, email=email, role=Member.Role.MEMBER)


def bounce(mailing_list, raw: bytes) -> list[BounceEvent]:
    return services.receive_bounces(mailing_list, [services.Incoming(raw, None, 1)])


def test_a_bounce_in_another_case_scores_the_member_stored_in_lower_case(bounce_list):
    john = add(bounce_list, "john.doe@example.com")
    (event,) = bounce(bounce_list, dsn("John.Doe@Example.com", "5.1.1"))
    assert (event.member_id, event.outcome, event.kind) == (john.pk, "scored", "hard")
    assert event.email == "John.Doe@Example.com"  # the report's own words are kept
    assert BounceScore.objects.get(member=john).score == 1


def test_a_member_stored_with_capitals_is_found_from_a_lower_case_report(bounce_list):
    john = add(bounce_list, "John.Doe@example.com")
    (event,) = bounce(bounce_list, dsn("john.doe@example.com", "5.2.2"))
    assert (event.member_id, event.kind) == (john.pk, "soft")
    assert BounceScore.objects.get(member=john).score == 0.5


def test_two_members_differing_only_in_case_are_matched_exactly_or_not_at_all(bounce_list):
    lower = add(bounce_list, "pat@example.com")
    upper = add(bounce_list, "Pat@example.com")
    (exact,) = bounce(bounce_list, dsn("Pat@example.com", "5.1.1"))
    assert exact.member_id == upper.pk
    (ambiguous,) = bounce(bounce_list, dsn("PAT@example.com", "5.1.1"))
    assert ambiguous.member_id is None
    assert ambiguous.outcome == "not_a_member"
    assert "case" in ambiguous.reason
    assert not BounceScore.objects.filter(member=lower).exists()
    assert BounceScore.objects.get(member=upper).score == 1  # only the exact match counted


def test_a_batch_matches_exact_and_case_variants_together(bounce_list, member_of):
    john = add(bounce_list, "john.doe@example.com")
    alice = member_of("alice@example.org")
    events = services.receive_bounces(
        bounce_list,
        [
            services.Incoming(dsn("JOHN.DOE@example.com", "5.1.1"), None, 1),
            services.Incoming(dsn("alice@example.org", "5.1.1"), None, 2),
            services.Incoming(dsn("nobody@example.org", "5.1.1"), None, 3),
        ],
    )
    assert [e.member_id for e in events] == [john.pk, alice.pk, None]
    assert events[2].reason == "the address is not a member of the list"


def test_two_reports_in_two_other_cases_both_find_the_member(bounce_list):
    john = add(bounce_list, "john.doe@example.com")
    events = services.receive_bounces(
        bounce_list,
        [
            services.Incoming(dsn("JOHN.DOE@example.com", "5.1.1"), None, 1),
            services.Incoming(dsn("John.Doe@example.com", "5.1.1"), None, 2),
        ],
    )
    assert [e.member_id for e in events] == [john.pk, john.pk]
    assert [e.outcome for e in events] == ["scored", "not_scored"]  # once a day


def test_the_case_insensitive_lookup_reads_indexes_not_the_whole_list(bounce_list):
    """A list of millions would be scanned for every bounce naming a non-member without them."""
    email = 'm."email"'
    # SQLite names the unique constraint's index itself (sqlite_autoindex_…): look for its search by address.
    unique_index = "member_unique_address_role" if connection.vendor == "postgresql" else "email=?"
    lookups = {
        # members stored in lower case, by that form
        unique_index: f"{email} IN (%s)",
        # members stored with capitals, through the partial index that holds only them
        "member_email_mixed_case": f"NOT ({email} = LOWER({email})) AND LOWER({email}) IN (%s)",
    }
    # Enough members that the planner's choice is the one a big list gets (on a handful it may
    # take any index on the list and filter), some of them with capitals.
    Member.objects.bulk_create(
        Member(mailing_list=bounce_list, email=f"{'Some' if i % 10 == 0 else 'some'}one{i}@example.org")
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE lists_member")
            cursor.execute("SET LOCAL enable_seqscan = off")
        for index, clause in lookups.items():
            sql = services._members_sql(connection.vendor) + clause
            params = [bounce_list.pk, "member", "someone7@example.org"]
            cursor.execute(("EXPLAIN " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN ") + sql, params)
            plan = " ".join(str(row) for row in cursor.fetchall())
            assert index in plan, plan


def test_lower_case_addresses_leave_the_mixed_case_index_empty(bounce_list):
    """Why the index is partial: an import of lower-case addresses writes nothing to it."""
    add(bounce_list, "lower@example.com")
    add(bounce_list, "Mixed.Case@example.com")
    (index,) = [i for i in Member._meta.indexes if i.name == "member_email_mixed_case"]
    in_index = Member.objects.filter(index.condition, mailing_list=bounce_list).values_list("email", flat=True)
    assert list(in_index) == ["Mixed.Case@example.com"]
