"""Bounces move members through the scoring states: scored, disabled, warned, removed; complaints unsubscribe."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from unittest import mock

import pytest
from django.utils import timezone

from poplist.bounces import services
from poplist.bounces.models import BounceEvent, BounceScore, BounceStep
from poplist.bounces.verp import verp_token
from poplist.delivery.models import OutboundMessage
from poplist.lists.models import Member, Suppression
from poplist.testing.fixtures_bounces import arf, dsn

pytestmark = pytest.mark.django_db


def freeze_time(when):
    """The services' clock (model defaults keep the real one, which the assertions do not read)."""
    return mock.patch("django.utils.timezone.now", return_value=when)


def bounce(mailing_list, raw: bytes, token: str | None = None, message_id: int = 1) -> None:
    services.receive_bounce(mailing_list, raw, verp_token=token, envelope_from="", inbound_message_id=message_id)


def test_hard_bounce_scores_one_and_records_the_cause(bounce_list, member_of):
    bounce(bounce_list, dsn("alice@example.org", "5.1.1"), message_id=42)
    event = BounceEvent.objects.get()
    assert (event.email, event.kind, event.source, event.status, event.outcome) == (
        "alice@example.org",
        "hard",
        "dsn",
        "5.1.1",
        "scored",
    )
    assert event.inbound_message_id == 42
    assert "User unknown" in event.diagnostic
    assert BounceScore.objects.get(member=member_of("alice@example.org")).score == 1
    step = BounceStep.objects.get()
    assert (step.action, step.event_id, step.score) == ("scored", event.pk, 1)


def test_verp_names_the_member_even_when_the_report_names_a_forward(bounce_list, member_of):
    alice = member_of("alice@example.org")
    bounce(bounce_list, dsn("alice.forwarded@elsewhere.example", "5.1.1"), token=verp_token(alice.pk))
    event = BounceEvent.objects.get()
    assert (event.member_id, event.email, event.source, event.kind) == (alice.pk, "alice@example.org", "verp", "hard")


def test_a_forged_verp_token_penalises_nobody(bounce_list, member_of):
    token = verp_token(member_of("alice@example.org").pk)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    bounce(bounce_list, dsn("alice@example.org", "5.1.1"), token=forged)
    event = BounceEvent.objects.get()
    assert (event.outcome, event.reason, event.member_id) == ("discarded", "forged or mangled VERP token", None)
    assert not BounceScore.objects.exists()


def test_soft_counts_half_and_once_a_day(bounce_list, member_of):
    for _ in range(3):
        bounce(bounce_list, dsn("bob@example.org", "5.2.2", diagnostic="smtp; 552 5.2.2 Mailbox full"))
    assert BounceScore.objects.get(member=member_of("bob@example.org")).score == 0.5
    outcomes = list(BounceEvent.objects.order_by("id").values_list("kind", "outcome", "reason"))
    assert outcomes[0] == ("soft", "scored", "")
    assert outcomes[1:] == [("soft", "not_scored", "already counted today")] * 2


def test_policy_rejections_and_delays_never_count(bounce_list, member_of):
    bounce(bounce_list, dsn("alice@example.org", "5.7.1", diagnostic="smtp; 550 5.7.1 Message rejected as spam"))
    bounce(bounce_list, dsn("alice@example.org", "4.4.7", action="delayed"))
    kinds = list(BounceEvent.objects.order_by("id").values_list("kind", "outcome"))
    assert kinds == [("policy", "not_scored"), ("warning", "not_scored")]
    assert not BounceScore.objects.exists()


def test_not_a_member_is_recorded_without_penalty(bounce_list):
    bounce(bounce_list, dsn("stranger@example.org", "5.1.1"))
    event = BounceEvent.objects.get()
    assert (event.outcome, event.member_id) == ("not_a_member", None)
    assert event.raw  # kept for `bounces reprocess`
    assert not BounceScore.objects.exists()


def test_auto_replies_are_discarded(bounce_list):
    raw = (
        b"From: alice@example.org\r\nTo: news-bounces@lists.acme.test\r\nSubject: Out of office\r\n"
        b"Auto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n"
    )
    bounce(bounce_list, raw)
    event = BounceEvent.objects.get()
    assert (event.kind, event.outcome) == ("auto_reply", "discarded")


def test_threshold_disables_warns_then_removes_with_owner_notice(bounce_list, member_of):
    alice = member_of("alice@example.org")
    token = verp_token(alice.pk)
    start = timezone.now()
    with freeze_time(start):
        bounce(bounce_list, dsn("alice@example.org"), token=token)
    with freeze_time(start + timedelta(days=1)):
        bounce(bounce_list, dsn("alice@example.org"), token=token)
    alice.refresh_from_db()
    assert (alice.status, alice.disabled_reason) == ("disabled", "by_bounces")
    notice = OutboundMessage.objects.get(kind="bounce_disabled")
    # Sent with VERP: a bounce of the notice names alice too.
    assert notice.mail_from == f"news-bounces+{token}@lists.acme.test"
    body = message_from_bytes(bytes(notice.raw)).get_payload(decode=True).decode()
    assert "/bounces/reenable/" in body and "1 of 2" in body
    disabled = BounceStep.objects.get(action="disabled")
    assert disabled.event_id == BounceEvent.objects.order_by("id").last().pk

    with freeze_time(start + timedelta(days=9)):
        assert services.run_due_steps() == 1
    assert OutboundMessage.objects.filter(kind="bounce_disabled").count() == 2
    assert BounceStep.objects.filter(action="warned").count() == 1
    with freeze_time(start + timedelta(days=17)):
        assert services.run_due_steps() == 1
    assert not Member.objects.filter(pk=alice.pk).exists()
    assert Suppression.objects.get(email="alice@example.org").reason == "bounced"
    removed = BounceStep.objects.get(action="removed")
    assert removed.event_id == disabled.event_id
    owner_notice = OutboundMessage.objects.get(kind="bounce_removed")
    assert owner_notice.recipients == ["owner@acme.test"]
    assert "alice@example.org" in bytes(owner_notice.raw).decode()


def test_reenable_link_restores_delivery_and_resets_the_score(bounce_list, member_of):
    alice = member_of("alice@example.org")
    start = timezone.now()
    for day in range(2):
        with freeze_time(start + timedelta(days=day)):
            bounce(bounce_list, dsn("alice@example.org"))
    alice.refresh_from_db()
    member = services.member_for_reenable_token(services.reenable_token(alice))
    assert member == alice
    assert services.reenable(member, actor="alice@example.org") is True
    alice.refresh_from_db()
    assert alice.status == "enabled"
    score = BounceScore.objects.get(member=alice)
    assert (score.score, score.state) == (0, "ok")
    assert services.member_for_reenable_token("garbage") is None


def test_scores_decay_after_quiet_days(bounce_list, member_of):
    start = timezone.now()
    with freeze_time(start):
        bounce(bounce_list, dsn("carol@example.org"))
    with freeze_time(start + timedelta(days=bounce_list.bounce_decay_days + 1)):
        assert services.decay_scores() == 1
    assert BounceScore.objects.get(member=member_of("carol@example.org")).score == 0
    # Lazily too: a bounce after a quiet period starts from zero.
    with freeze_time(start + timedelta(days=30)):
        bounce(bounce_list, dsn("carol@example.org"))
    assert BounceScore.objects.get(member=member_of("carol@example.org")).score == 1


def test_complaint_unsubscribes_and_suppresses(bounce_list, member_of):
    bob = member_of("bob@example.org")
    bounce(bounce_list, arf("bob@example.org"))
    assert not Member.objects.filter(pk=bob.pk).exists()
    assert Suppression.objects.get(email="bob@example.org").reason == "complaint"
    event = BounceEvent.objects.get()
    assert (event.kind, event.source, event.outcome) == ("complaint", "arf", "unsubscribed")
    assert BounceStep.objects.get().action == "complaint_unsubscribed"
    assert not OutboundMessage.objects.filter(kind="goodbye").exists()  # never mail a complainer


def test_delivery_failures_are_bounce_events(bounce_list, member_of):
    bob = member_of("bob@example.org")
    services.record_delivery_failure(
        bounce_list, bob.pk, bob.email, 550, "5.1.1 <bob@example.org>: Recipient address rejected", job_id=7
    )
    services.record_delivery_failure(bounce_list, bob.pk, bob.email, 554, "5.7.1 Service unavailable; blocked")
    events = list(BounceEvent.objects.order_by("id").values_list("source", "kind", "status", "job_id", "outcome"))
    assert events == [("smtp", "hard", "5.1.1", 7, "scored"), ("smtp", "policy", "5.7.1", None, "not_scored")]
    assert BounceEvent.objects.first().diagnostic.startswith("550 5.1.1")
    assert BounceScore.objects.get(member=bob).score == 1


def test_expired_temporary_failure_is_soft(bounce_list, member_of):
    carol = member_of("carol@example.org")
    services.record_delivery_failure(bounce_list, carol.pk, carol.email, 451, "4.3.0 try again later (expired)")
    event = BounceEvent.objects.get()
    assert (event.kind, event.status) == ("soft", "4.3.0")
    assert BounceScore.objects.get(member=carol).score == 0.5


def test_reprocess_attributes_a_kept_bounce_once_the_address_is_a_member(bounce_list):
    from poplist.lists.subscriptions import Origin, subscribe

    bounce(bounce_list, dsn("late@example.org"))
    subscribe(bounce_list, "late@example.org", origin=Origin(via="owner"), welcome=False)
    assert services.reprocess() == (1, 1)
    assert BounceEvent.objects.filter(email="late@example.org", outcome="scored").count() == 1
    assert services.reprocess() == (0, 0)
