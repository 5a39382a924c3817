"""Refusals met by delivery over real SMTP become bounce events, with the relay's answer kept."""

from __future__ import annotations

import pytest

from poplist.bounces.models import BounceEvent, BounceScore
from poplist.testing.fixtures_delivery import drain

pytestmark = pytest.mark.django_db(transaction=True)


def test_rcpt_refusals_are_scored_by_class(mailing_list, add_members, post_job, smtp_sink, pool_for):
    members = add_members(mailing_list, 4)
    replies = {
        members[0].email: "550 5.1.1 <m0@example.com>: Recipient address rejected: User unknown",
        members[1].email: "554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org",
    }
    smtp_sink.rcpt_reply = lambda address: replies.get(address)
    job = post_job(mailing_list)
    drain(pool_for(smtp_sink))

    events = {e.email: e for e in BounceEvent.objects.all()}
    assert set(events) == {members[0].email, members[1].email}
    gone, spam = events[members[0].email], events[members[1].email]
    assert (gone.source, gone.kind, gone.status, gone.outcome, gone.job_id) == (
        "smtp",
        "hard",
        "5.1.1",
        "scored",
        job.pk,
    )
    assert "User unknown" in gone.diagnostic and gone.diagnostic.startswith("550")
    assert (spam.kind, spam.status, spam.outcome) == ("policy", "5.7.1", "not_scored")
    assert BounceScore.objects.get(member_id=members[0].pk).score == 1
    assert not BounceScore.objects.filter(member_id=members[1].pk).exists()  # the provider refused the message
