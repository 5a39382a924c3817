"""The subscription lifecycle through its service functions (the pages and CLI have their own tests)."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from poplist.core.errors import Conflict, InvalidInput
from poplist.lists import subscriptions
from poplist.lists.models import Member, MemberEvent, PendingRequest, Suppression
from poplist.lists.subscriptions import Origin, Outcome
from poplist.testing.mail import body_of, queued

WEB = Origin(via="web", ip="198.51.100.7", actor="self")


def token_from(message) -> str:
    return re.search(r"/confirm/([\w-]+)/", body_of(message)).group(1)


def test_double_opt_in_records_consent_and_welcomes(mailing_list):
    assert (
        subscriptions.request_subscription(mailing_list, "Ann@Example.org", name="Ann", origin=WEB)
        == Outcome.CONFIRMATION_SENT
    )
    assert not Member.objects.filter(role="member").exists()

    [confirmation] = queued("confirm_subscribe")
    assert confirmation["To"] == "Ann@example.org"
    assert confirmation["Reply-To"].startswith("news-confirm+")
    token = token_from(confirmation)
    assert f"confirm {token}" in confirmation["Subject"]

    outcome, _ = subscriptions.confirm(token, origin=Origin(via="web", ip="203.0.113.9"))
    assert outcome == Outcome.SUBSCRIBED
    member = Member.objects.get(email="Ann@example.org", role="member")
    assert member.display_name == "Ann"
    assert member.joined_via == "web" and member.joined_ip == "198.51.100.7"  # where the request came from
    assert member.confirmed_at is not None and member.joined_at <= member.confirmed_at
    mailing_list.refresh_from_db()
    assert mailing_list.member_count == 1
    [welcome] = queued("welcome")
    assert "/u/" in body_of(welcome)
    assert list(MemberEvent.objects.filter(email="Ann@example.org").values_list("action", flat=True)) == [
        "subscription_requested",
        "subscribed",
    ]


def test_confirmation_token_is_single_use(mailing_list):
    subscriptions.request_subscription(mailing_list, "ann@example.org", origin=WEB)
    token = token_from(queued("confirm_subscribe")[0])
    subscriptions.confirm(token)
    with pytest.raises(Conflict, match="used already"):
        subscriptions.confirm(token)
    assert Member.objects.filter(role="member").count() == 1


def test_expired_and_forged_tokens_are_refused(mailing_list):
    subscriptions.request_subscription(mailing_list, "ann@example.org", origin=WEB)
    token = token_from(queued("confirm_subscribe")[0])
    PendingRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidInput, match="expired"):
        subscriptions.confirm(token)
    with pytest.raises(InvalidInput, match="not valid"):
        subscriptions.confirm("forged-token-" + token[:10])
    assert not Member.objects.filter(role="member").exists()


def test_open_list_subscribes_at_once_but_email_commands_still_confirm(make_list):
    open_list = make_list("open", subscription_policy="open")
    assert subscriptions.request_subscription(open_list, "a@example.org", origin=WEB) == Outcome.SUBSCRIBED
    by_mail = Origin(via="email", ref="<msg@example.org>")
    assert subscriptions.request_subscription(open_list, "b@example.org", origin=by_mail) == Outcome.CONFIRMATION_SENT


def test_moderated_list_queues_for_owner_approval(make_list):
    moderated = make_list("club", subscription_policy="moderate")
    assert subscriptions.request_subscription(moderated, "ann@example.org", origin=WEB) == Outcome.AWAITING_APPROVAL
    [notice] = queued("owner_approval_request")
    assert notice["To"] == "owner@acme.test" and "ann@example.org" in notice["Subject"]
    [request] = subscriptions.pending_approvals(moderated)
    assert subscriptions.approve(request, actor="owner@acme.test") == Outcome.SUBSCRIBED
    assert Member.objects.filter(mailing_list=moderated, email="ann@example.org", role="member").exists()
    with pytest.raises(Conflict):
        subscriptions.approve(request, actor="owner@acme.test")


def test_refusal_is_told_to_the_requester(make_list):
    moderated = make_list("club", subscription_policy="moderate")
    subscriptions.request_subscription(moderated, "bob@example.org", origin=WEB)
    [request] = subscriptions.pending_approvals(moderated)
    subscriptions.refuse(request, actor="owner@acme.test", reason="members of the club only")
    [notice] = queued("subscription_refused")
    assert "members of the club only" in body_of(notice)
    assert not Member.objects.filter(email="bob@example.org").exists()


def test_confirm_then_moderate_needs_both(make_list):
    strict = make_list("strict", subscription_policy="confirm_then_moderate")
    subscriptions.request_subscription(strict, "ann@example.org", origin=WEB)
    outcome, _ = subscriptions.confirm(token_from(queued("confirm_subscribe")[0]))
    assert outcome == Outcome.AWAITING_APPROVAL
    [request] = subscriptions.pending_approvals(strict)
    subscriptions.approve(request, actor="owner@acme.test")
    member = Member.objects.get(email="ann@example.org", role="member")
    assert member.confirmed_at is not None  # the address's own confirmation is kept


def test_one_click_unsubscribe_is_idempotent_and_suppresses(mailing_list):
    member = subscriptions.subscribe(mailing_list, "ann@example.org", origin=WEB)
    token = subscriptions.unsubscribe_token(member)
    assert subscriptions.unsubscribe_by_token(token, origin=Origin(via="one-click")) == Outcome.UNSUBSCRIBED
    assert subscriptions.unsubscribe_by_token(token) == Outcome.NOT_A_MEMBER
    assert not Member.objects.filter(role="member").exists()
    assert Suppression.objects.get(email="ann@example.org").reason == "unsubscribed"
    assert len(queued("goodbye")) == 1
    mailing_list.refresh_from_db()
    assert mailing_list.member_count == 0


def test_forged_unsubscribe_token_changes_nothing(mailing_list):
    member = subscriptions.subscribe(mailing_list, "ann@example.org", origin=WEB)
    token = subscriptions.unsubscribe_token(member)
    with pytest.raises(InvalidInput):
        subscriptions.unsubscribe_by_token(token[:-3] + "xyz")
    assert Member.objects.filter(pk=member.pk).exists()


def test_unsubscribe_by_mail_needs_the_address_to_confirm(mailing_list):
    subscriptions.subscribe(mailing_list, "ann@example.org", origin=WEB)
    assert (
        subscriptions.request_unsubscription(mailing_list, "ann@example.org", origin=Origin(via="email"))
        == Outcome.CONFIRMATION_SENT
    )
    assert Member.objects.filter(role="member").exists()
    outcome, _ = subscriptions.confirm(token_from(queued("confirm_unsubscribe")[0]))
    assert outcome == Outcome.UNSUBSCRIBED
    assert not Member.objects.filter(role="member").exists()


def test_resubscribing_after_leaving_lifts_the_suppression(mailing_list):
    member = subscriptions.subscribe(mailing_list, "ann@example.org", origin=WEB)
    subscriptions.unsubscribe_by_token(subscriptions.unsubscribe_token(member))
    subscriptions.request_subscription(mailing_list, "ann@example.org", origin=WEB)
    subscriptions.confirm(token_from(queued("confirm_subscribe")[0]))
    assert not Suppression.objects.filter(email="ann@example.org").exists()


def test_notices_follow_the_list_language(make_list):
    french = make_list("liste", language="fr")
    subscriptions.request_subscription(french, "zoé@example.fr", origin=WEB)
    [confirmation] = queued("confirm_subscribe")
    assert "Pour confirmer" in body_of(confirmation)
    assert confirmation["To"] == "zoé@example.fr"


def test_display_names_cannot_inject_headers(make_list):
    open_list = make_list("open", subscription_policy="open", notify_owners_on_membership="yes")
    member = subscriptions.subscribe(open_list, "eve@example.org", name="Eve\r\nBcc: victim@example.org", origin=WEB)
    assert "\n" not in member.display_name and "\r" not in member.display_name
    for message in queued():
        assert "Bcc" not in message


def test_member_quota(make_list, tenant):
    open_list = make_list("open", subscription_policy="open")
    tenant.quota_members = 1
    tenant.save()
    open_list.refresh_from_db()
    subscriptions.subscribe(open_list, "a@example.org", origin=WEB)
    open_list.refresh_from_db()
    with pytest.raises(Conflict, match="quota"):
        subscriptions.subscribe(open_list, "b@example.org", origin=WEB)
