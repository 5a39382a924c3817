"""RFC 8058 one-click departures (lists.oneclick): recorded in the request, notices written by the worker."""

import threading

import pytest

from poplist.core.errors import InvalidInput
from poplist.lists import oneclick, subscriptions
from poplist.lists.models import Member, MemberEvent, Suppression
from poplist.lists.subscriptions import Origin, Outcome
from poplist.testing.mail import body_of, queued

OWNER = Origin(via="owner", actor="owner@acme.test")


def join(mailing_list, email):
    return subscriptions.subscribe(mailing_list, email, origin=OWNER, welcome=False)


def test_departure_is_recorded_at_once_and_the_goodbye_comes_from_the_worker(mailing_list):
    member = join(mailing_list, "ann@example.org")
    token = subscriptions.unsubscribe_token(member)
    assert oneclick.unsubscribe(token, ip="198.51.100.7") == Outcome.UNSUBSCRIBED
    assert oneclick.unsubscribe(token, ip="198.51.100.7") == Outcome.NOT_A_MEMBER  # idempotent
    assert not Member.objects.filter(role="member").exists()
    mailing_list.refresh_from_db()
    assert mailing_list.member_count == 0
    suppression = Suppression.objects.get(email="ann@example.org")
    assert (suppression.reason, suppression.note, suppression.mailing_list_id) == (
        "unsubscribed",
        "one-click",
        mailing_list.pk,
    )
    event = MemberEvent.objects.get(action="unsubscribed")
    assert (event.via, event.ip, event.actor, event.notices_pending) == ("one-click", "198.51.100.7", "self", True)
    assert queued("goodbye") == []

    assert oneclick.send_departure_notices() == 1
    [goodbye] = queued("goodbye")
    assert goodbye["To"] == "ann@example.org" and mailing_list.address in body_of(goodbye)
    assert oneclick.send_departure_notices() == 0  # written once
    assert MemberEvent.objects.get(action="unsubscribed").notices_pending is None


def test_owners_hear_of_it_when_they_asked_and_no_goodbye_when_off(make_list):
    quiet = make_list("quiet", send_goodbye=False, notify_owners_on_membership=True)
    member = join(quiet, "bob@example.org")
    oneclick.unsubscribe(subscriptions.unsubscribe_token(member))
    assert oneclick.send_departure_notices() == 1
    assert queued("goodbye") == []
    [notice] = queued("owner_unsubscribed")
    assert notice["To"] == "owner@acme.test" and "bob@example.org" in body_of(notice)


def test_nothing_to_write_leaves_no_pending_event(make_list):
    silent = make_list("silent", send_goodbye=False)
    oneclick.unsubscribe(subscriptions.unsubscribe_token(join(silent, "cy@example.org")))
    assert MemberEvent.objects.get(action="unsubscribed").notices_pending is None
    assert oneclick.send_departure_notices() == 0


def test_forged_or_owner_tokens_change_nothing(mailing_list):
    member = join(mailing_list, "ann@example.org")
    token = subscriptions.unsubscribe_token(member)
    with pytest.raises(InvalidInput):
        oneclick.unsubscribe(token[:-3] + "xyz")
    owner = Member.objects.get(role="owner")
    assert oneclick.unsubscribe(subscriptions.unsubscribe_token(owner)) == Outcome.NOT_A_MEMBER
    assert Member.objects.filter(pk=member.pk).exists() and Member.objects.filter(pk=owner.pk).exists()
    assert not Suppression.objects.exists() and not MemberEvent.objects.filter(action="unsubscribed").exists()


def test_a_batch_handles_repeats_other_lists_and_what_hangs_on_a_member(make_list):
    from poplist.bounces.models import BounceEvent, BounceScore

    news, talk = make_list("news"), make_list("talk")
    ann, bob, cy = join(news, "ann@example.org"), join(news, "bob@example.org"), join(talk, "cy@example.org")
    BounceScore.objects.create(member=ann, mailing_list=news, score=2)
    event = BounceEvent.objects.create(
        tenant_id=news.tenant_id, mailing_list=news, member=ann, email=ann.email, kind="hard", outcome="scored"
    )
    subscriptions.unsubscribe(news, "bob@example.org", origin=OWNER)  # bob left already, by another path
    jobs = [
        oneclick.Leave(ann.pk, None),
        oneclick.Leave(bob.pk, None),
        oneclick.Leave(cy.pk, "::1"),
        oneclick.Leave(ann.pk, None),
    ]
    outcomes = oneclick.leave_many(jobs)
    assert outcomes == [Outcome.UNSUBSCRIBED, Outcome.NOT_A_MEMBER, Outcome.UNSUBSCRIBED, Outcome.UNSUBSCRIBED]
    assert not BounceScore.objects.exists()
    event.refresh_from_db()
    assert event.member_id is None  # the bounce history stays, without its member
    news.refresh_from_db()
    talk.refresh_from_db()
    assert (news.member_count, talk.member_count) == (0, 0)
    assert MemberEvent.objects.filter(action="unsubscribed", via="one-click").count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_share_transactions_and_all_commit(make_list):
    """Outside a transaction the writer thread takes the jobs; every caller hears only after the COMMIT."""
    news = make_list("news")
    members = [join(news, f"m{n}@example.org") for n in range(40)]
    outcomes: list = []

    def leave(member):
        outcomes.append(oneclick.unsubscribe(subscriptions.unsubscribe_token(member)))

    try:
        threads = [threading.Thread(target=leave, args=(m,)) for m in members]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        oneclick.stop_writer()
    assert outcomes == [Outcome.UNSUBSCRIBED] * 40
    assert not Member.objects.filter(role="member").exists()
    news.refresh_from_db()
    assert news.member_count == 0
    assert Suppression.objects.count() == 40
