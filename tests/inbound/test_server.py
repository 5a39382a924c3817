"""The LMTP server through real sockets: routing, commit before 250, duplicates, per-recipient replies."""

from __future__ import annotations

import pytest

from poplist.testing.fixtures_inbound import make_message


@pytest.fixture
def news(make_list):
    from poplist.lists.subscriptions import subscribe

    mailing_list = make_list("news", subject_prefix="[news]")
    subscribe(mailing_list, "ann@example.org", welcome=False)
    subscribe(mailing_list, "bob@example.org", welcome=False)
    return mailing_list


def test_a_member_post_is_stored_archived_and_queued_before_250(news, lmtp):
    from poplist.archive.models import ArchivedMessage
    from poplist.delivery.models import DeliveryJob
    from poplist.inbound.models import InboundMessage, PendingArchive
    from poplist.testing.mail import parse

    code, text = lmtp(make_message())
    assert (code, text) == (250, "2.0.0 Ok: stored")
    stored = InboundMessage.objects.get()
    assert stored.decision == "accepted" and stored.mail_from == "ann@example.org"
    assert stored.recipient == "news@lists.acme.test" and bytes(stored.raw).startswith(b"From: Ann")
    job = DeliveryJob.objects.get()
    prepared = parse(bytes(job.message))
    assert prepared["Subject"] == "[news] Hello"
    assert prepared["List-Id"] == '"News" <news.lists.acme.test>'
    assert prepared["List-Post"] == "<mailto:news@lists.acme.test>"
    assert prepared["List-Archive"] == "<http://testserver/lists/news@lists.acme.test/archive/>" or prepared[
        "List-Archive"
    ].endswith("/lists/news@lists.acme.test/archive/>")
    # Committed before 250, with its archive entry: nothing waits for the worker.
    assert not PendingArchive.objects.exists()
    archived = ArchivedMessage.objects.get()
    assert archived.subject == "Hello" and archived.thread.message_count == 1  # the author's subject, no prefix
    assert bytes(archived.raw) == bytes(job.message)
    assert prepared["Archived-At"].endswith(f"/lists/news@lists.acme.test/archive/{archived.permalink_id}/>")
    assert job.archived_id == archived.pk and job.message_id == "<m1@example.org>"
    assert b"\r\n" in bytes(job.message) and b"\n" not in bytes(job.message).replace(b"\r\n", b"")


def test_unknown_addresses_are_refused_at_rcpt_and_lmtp_answers_per_recipient(news, lmtp):
    from poplist.inbound.models import InboundMessage

    replies = lmtp(
        make_message(),
        to=["news@lists.acme.test", "nobody@lists.acme.test", "news-bounces+abc@lists.acme.test", "x@other.test"],
    )
    assert replies["news@lists.acme.test"][0] == 250
    assert replies["nobody@lists.acme.test"] == (550, "5.1.1 No such list or list address here")
    assert replies["x@other.test"][0] == 550
    assert replies["news-bounces+abc@lists.acme.test"][0] == 250
    routes = sorted(InboundMessage.objects.values_list("route", flat=True))
    assert routes == ["bounces", "post"]


def test_the_same_message_id_twice_is_posted_once(news, lmtp):
    from poplist.delivery.models import DeliveryJob
    from poplist.inbound.models import InboundMessage

    assert lmtp(make_message())[0] == 250
    assert lmtp(make_message())[0] == 250
    assert DeliveryJob.objects.count() == 1
    assert sorted(InboundMessage.objects.values_list("decision", flat=True)) == ["accepted", "duplicate"]


def test_a_non_member_post_is_held_and_listed_by_the_cli(news, lmtp, run_poplist):
    from poplist.delivery.models import DeliveryJob
    from poplist.inbound.models import HeldMessage
    from poplist.testing.mail import queued

    assert lmtp(make_message(sender="Zed <zed@example.net>"), mail_from="zed@example.net")[0] == 250
    held = HeldMessage.objects.get()
    assert held.rule == "nonmember" and "zed@example.net is not a member" in held.reason
    assert DeliveryJob.objects.count() == 0
    [notice] = queued("held_for_moderation")
    assert notice.recipients == ["owner@acme.test"]
    assert notice["Reply-To"].startswith("news-confirm+")
    listing = run_poplist("held", "ls", "news@lists.acme.test")
    assert listing.returncode == 0 and "zed@example.net" in listing.stdout
    approved = run_poplist("held", "approve", "news@lists.acme.test", str(held.pk))
    assert approved.returncode == 0, approved.stderr
    assert DeliveryJob.objects.count() == 1


def test_a_message_over_the_server_size_is_refused_with_552(lmtp_server, news):
    from poplist.inbound.client import LMTPClient
    from poplist.inbound.models import InboundMessage
    from poplist.inbound.server import running

    with running(max_bytes=10_000) as small, LMTPClient("127.0.0.1", small.lmtp_port) as client:
        replies = client.send("ann@example.org", ["news@lists.acme.test"], make_message(body=("x" * 70 + "\n") * 300))
    assert replies["news@lists.acme.test"][0] == 552
    assert replies["news@lists.acme.test"][1].startswith("5.3.4")
    assert InboundMessage.objects.count() == 0


def test_plain_smtp_listener_accepts_posts(news, lmtp_server):
    from poplist.inbound.client import LMTPClient
    from poplist.inbound.models import InboundMessage

    with LMTPClient("127.0.0.1", lmtp_server.smtp_port, smtp=True) as client:
        replies = client.send("ann@example.org", ["news@lists.acme.test"], make_message())
    assert replies["news@lists.acme.test"][0] == 250
    assert InboundMessage.objects.get().decision == "accepted"
