"""Email commands and moderators' replies, through the real LMTP server."""

from __future__ import annotations

import re

import pytest

from poplist.testing.fixtures_inbound import make_message


@pytest.fixture
def news(make_list):
    return make_list("news", roster_visibility="public")


def test_subscribe_by_request_address_sends_a_confirmation_and_a_quoted_answer(news, lmtp):
    from poplist.lists.models import PendingRequest
    from poplist.testing.mail import body_of, queued

    raw = make_message(subject="", body="subscribe\nhelp\nend\nwho\n", to="news-request@lists.acme.test")
    assert lmtp(raw, to="news-request@lists.acme.test")[0] == 250
    assert PendingRequest.objects.get().email == "ann@example.org"
    [answer] = queued("command_results", to="ann@example.org")
    text = body_of(answer)
    assert "> subscribe\nA confirmation request was sent to ann@example.org." in text
    assert "> help\nCommands:" in text and "> end" in text and "> who" not in text


def test_confirm_by_replying_to_the_confirm_address(news, lmtp):
    from poplist.lists.models import Member
    from poplist.testing.mail import queued

    lmtp(make_message(body="", subject="join"), to="news-join@lists.acme.test")
    [confirmation] = queued("confirm_subscribe")
    confirm_address = confirmation["Reply-To"]
    assert confirm_address.startswith("news-confirm+")
    assert lmtp(make_message(subject="Re: confirm", message_id="<c2@example.org>"), to=confirm_address)[0] == 250
    assert Member.objects.filter(mailing_list=news, email="ann@example.org", role="member").exists()


def test_leave_set_and_who_commands(news, lmtp):
    from poplist.lists.models import Member
    from poplist.lists.subscriptions import subscribe
    from poplist.testing.mail import body_of, queued

    subscribe(news, "ann@example.org", welcome=False)
    raw = make_message(subject="set delivery digest", body="who\n", to="news-request@lists.acme.test")
    lmtp(raw, to="news-request@lists.acme.test")
    assert Member.objects.get(email="ann@example.org", role="member").delivery_mode == "mime_digest"
    text = body_of(queued("command_results")[-1])
    assert "Delivery set to digest." in text and "1 members:\nann@example.org" in text
    lmtp(make_message(subject="bye", message_id="<l1@example.org>"), to="news-leave@lists.acme.test")
    assert queued("confirm_unsubscribe", to="ann@example.org")


def test_commands_are_answered_in_the_lists_language(make_list, lmtp):
    from poplist.testing.mail import body_of, queued

    make_list("liste", language="fr")
    raw = make_message(subject="", body="subscribe\n", to="liste-request@lists.acme.test")
    lmtp(raw, to="liste-request@lists.acme.test")
    [answer] = queued("command_results")
    assert "Le résultat de vos commandes" in answer["Subject"]
    assert "Une demande de confirmation a été envoyée à ann@example.org." in body_of(answer)


def test_subscribe_sent_to_the_list_address_is_held_as_administrivia(news, lmtp):
    from poplist.delivery.models import DeliveryJob
    from poplist.inbound.models import HeldMessage

    lmtp(make_message(subject="unsubscribe", body="\n"))
    assert HeldMessage.objects.get().rule in {"administrivia", "nonmember"}
    assert DeliveryJob.objects.count() == 0


def test_autoreplies_to_request_are_not_answered(news, lmtp):
    from poplist.inbound.models import InboundMessage
    from poplist.testing.mail import queued

    raw = make_message(subject="Out of office", extra="Auto-Submitted: auto-replied", to="news-request@lists.acme.test")
    lmtp(raw, to="news-request@lists.acme.test")
    assert InboundMessage.objects.get().decision == "discarded"
    assert queued("command_results") == []


def test_moderator_approves_by_replying_to_the_notice(news, lmtp):
    from poplist.delivery.models import DeliveryJob
    from poplist.inbound.models import HeldMessage
    from poplist.testing.mail import queued

    lmtp(make_message(sender="zed@example.net"), mail_from="zed@example.net")
    [notice] = queued("held_for_moderation")
    reply = make_message(sender="owner@acme.test", body="approve\n\n> quoted notice\n", message_id="<r@acme.test>")
    assert lmtp(reply, to=notice["Reply-To"], mail_from="owner@acme.test")[0] == 250
    assert HeldMessage.objects.get().state == "approved"
    assert DeliveryJob.objects.count() == 1
    # The token was single-use: a second reply decides nothing.
    again = make_message(sender="owner@acme.test", body="discard\n", message_id="<r2@acme.test>")
    assert lmtp(again, to=notice["Reply-To"], mail_from="owner@acme.test")[0] == 250
    assert HeldMessage.objects.get().state == "approved"


def test_moderator_rejects_by_mail_and_the_author_is_told_why(news, lmtp):
    from poplist.inbound.models import HeldMessage
    from poplist.testing.mail import body_of, queued

    lmtp(make_message(sender="zed@example.net"), mail_from="zed@example.net")
    [notice] = queued("held_for_moderation")
    reply = make_message(sender="owner@acme.test", body="reject off topic here\n", message_id="<r@acme.test>")
    lmtp(reply, to=notice["Reply-To"], mail_from="owner@acme.test")
    assert HeldMessage.objects.get().state == "rejected"
    [rejection] = queued("post_rejected", to="zed@example.net")
    assert "Reason: off topic here" in body_of(rejection)


def test_mail_to_owner_is_forwarded_to_the_owners(news, lmtp):
    from poplist.delivery.models import OutboundMessage

    lmtp(make_message(subject="Question"), to="news-owner@lists.acme.test")
    forward = OutboundMessage.objects.get(kind="owner_forward")
    assert forward.recipients == ["owner@acme.test"] and b"Subject: Question" in bytes(forward.raw)
    assert re.match(r"news-bounces@", forward.mail_from)


def test_set_delivery_by_mail_changes_the_senders_own_mode_only_and_explains_mistakes(news, lmtp):
    from poplist.lists.models import Member
    from poplist.lists.subscriptions import subscribe
    from poplist.testing.mail import body_of, queued

    subscribe(news, "ann@example.org", welcome=False)
    subscribe(news, "bob@example.org", welcome=False)
    body = "set delivery nomail\nset delivery weekly\nset digest\n"
    raw = make_message(subject="", body=body, to="news-request@lists.acme.test", message_id="<s1@example.org>")
    assert lmtp(raw, to="news-request@lists.acme.test")[0] == 250
    modes = dict(Member.objects.filter(role="member").values_list("email", "delivery_mode"))
    assert modes == {"ann@example.org": "nomail", "bob@example.org": "regular"}
    text = body_of(queued("command_results", to="ann@example.org")[-1])
    assert "> set delivery nomail\nDelivery set to nomail." in text
    assert "> set delivery weekly\nUsage: set delivery regular|digest|nomail" in text
    assert "> set digest\nUsage: set delivery regular|digest|nomail" in text

    raw = make_message(
        subject="set delivery regular", body="", to="news-request@lists.acme.test", message_id="<s2@example.org>"
    )
    lmtp(raw, to="news-request@lists.acme.test")
    assert Member.objects.get(email="ann@example.org", role="member").delivery_mode == "regular"

    stranger = make_message(
        subject="set delivery digest",
        body="",
        sender="zed@example.net",
        to="news-request@lists.acme.test",
        message_id="<s3@example.org>",
    )
    assert lmtp(stranger, to="news-request@lists.acme.test", mail_from="zed@example.net")[0] == 250
    assert not Member.objects.filter(email="zed@example.net").exists()
    answer = body_of(queued("command_results", to="zed@example.net")[-1])
    assert "> set delivery digest\n" in answer and "Delivery set" not in answer


def test_set_delivery_is_answered_in_french_on_a_french_list(make_list, lmtp):
    from poplist.lists.models import Member
    from poplist.lists.subscriptions import subscribe
    from poplist.testing.mail import body_of, queued

    liste = make_list("liste", language="fr")
    subscribe(liste, "ann@example.org", welcome=False)
    raw = make_message(subject="set delivery digest", body="", to="liste-request@lists.acme.test")
    lmtp(raw, to="liste-request@lists.acme.test")
    assert Member.objects.get(mailing_list=liste, email="ann@example.org").delivery_mode == "mime_digest"
    assert "> set delivery digest\nMode de réception : digest." in body_of(queued("command_results")[-1])
