"""Bounces arriving at the real inbound LMTP server move members through the scoring states."""

from __future__ import annotations

import pytest

from poplist.bounces.models import BounceEvent, BounceScore
from poplist.bounces.verp import verp_token
from poplist.inbound.models import InboundMessage
from poplist.lists.models import Member, Suppression
from poplist.testing.fixtures_bounces import arf, dsn

pytestmark = pytest.mark.django_db(transaction=True)


def test_verp_bounce_over_lmtp_is_stored_then_scored(lmtp, bounce_list, member_of):
    alice = member_of("alice@example.org")
    to = f"news-bounces+{verp_token(alice.pk)}@lists.acme.test"
    code, _text = lmtp(dsn("alice@example.org"), to=to, mail_from="")
    assert code == 250
    event = BounceEvent.objects.get()
    assert (event.member_id, event.source, event.kind, event.outcome) == (alice.pk, "verp", "hard", "scored")
    stored = InboundMessage.objects.get(pk=event.inbound_message_id)
    assert b"Undelivered Mail Returned to Sender" in bytes(stored.raw)  # the message that caused it
    assert BounceScore.objects.get(member=alice).score == 1


def test_forged_token_over_lmtp_is_accepted_recorded_and_harmless(lmtp, bounce_list):
    code, _ = lmtp(dsn("bob@example.org"), to="news-bounces+AAAAAAAAAAAAAAAAAAAAAAAA@lists.acme.test", mail_from="")
    assert code == 250
    event = BounceEvent.objects.get()
    assert (event.outcome, event.reason) == ("discarded", "forged or mangled VERP token")
    assert not BounceScore.objects.exists()


def test_complaint_over_lmtp_unsubscribes(lmtp, bounce_list):
    code, _ = lmtp(arf("carol@example.org"), to="news-bounces@lists.acme.test", mail_from="fbl@example.net")
    assert code == 250
    assert not Member.objects.filter(email="carol@example.org", role="member").exists()
    assert Suppression.objects.get(email="carol@example.org").reason == "complaint"
