"""A post to a list goes out once per member, personalised and signed, through the pipelined pool."""

from __future__ import annotations

import email
import email.policy

import dkim
import pytest

from poplist.bounces.verp import member_id_from_token
from poplist.delivery import keys
from poplist.delivery.models import DeliveryDay, DeliveryJob
from poplist.testing.fixtures_delivery import dkim_dns, drain

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_member_gets_one_signed_personal_copy(mailing_list, add_members, post_job, smtp_sink, pool_for):
    members = add_members(mailing_list, 37, domains=("example.com", "example.net"))
    made = keys.generate("lists.acme.test", ed25519_too=True)
    records = dict(keys.dns_record(k) for k in made)
    job = post_job(mailing_list)

    assert drain(pool_for(smtp_sink)) == 37

    job.refresh_from_db()
    assert (job.status, job.sent, job.failed, job.total) == ("done", 37, 0, 37)
    assert sorted(smtp_sink.recipients()) == sorted(m.email for m in members)
    by_email = {m.email: m for m in members}
    unsubscribe_urls = set()
    for received in smtp_sink.messages:
        (rcpt,) = received.recipients
        member = by_email[rcpt]
        # VERP: the envelope sender names this member.
        local, _, domain = received.mail_from.partition("@")
        assert domain == "lists.acme.test" and local.startswith("news-bounces+")
        assert member_id_from_token(local.partition("+")[2]) == member.pk
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = message["List-Unsubscribe"].split(">")[0].lstrip("<")
        assert url.startswith("http://") and "/u/" in url
        unsubscribe_urls.add(url)
        body = message.get_content()
        assert f"Leave: {url}" in body and "{{poplist:" not in body
        assert ".a line that starts with a dot" in body
        # Both signatures verify with an independent implementation.
        signatures = message.get_all("DKIM-Signature")
        assert len(signatures) == 2
        assert dkim.verify(received.data, dnsfunc=dkim_dns(records)), received.data[:600]
        for sig_index in range(2):
            verifier = dkim.DKIM(received.data)
            assert verifier.verify(idx=sig_index, dnsfunc=dkim_dns(records))
        assert "list-unsubscribe" in signatures[0].lower()
    assert len(unsubscribe_urls) == 37
    day = DeliveryDay.objects.get(mailing_list=mailing_list)
    assert (day.sent, day.failed) == (37, 0)


def test_a_tampered_copy_fails_verification(mailing_list, add_members, post_job, smtp_sink, pool_for):
    add_members(mailing_list, 1)
    records = dict(keys.dns_record(k) for k in keys.generate("lists.acme.test"))
    post_job(mailing_list)
    drain(pool_for(smtp_sink))
    data = smtp_sink.messages[0].data
    assert dkim.verify(data, dnsfunc=dkim_dns(records))
    assert not dkim.verify(data.replace(b"the post", b"the p0st"), dnsfunc=dkim_dns(records))
    assert not dkim.verify(data.replace(b"Hello everyone", b"Hello someone"), dnsfunc=dkim_dns(records))


def test_members_who_join_later_or_are_disabled_or_digest_do_not_get_it(
    mailing_list, add_members, post_job, smtp_sink, pool_for
):
    add_members(mailing_list, 3)
    add_members(mailing_list, 1, start=10, status="disabled")
    add_members(mailing_list, 1, start=20, delivery_mode="mime_digest")
    job = post_job(mailing_list)
    transport = pool_for(smtp_sink)
    from poplist.delivery import claims

    batch = claims.claim_batch()  # the first claim fixes who gets the post
    add_members(mailing_list, 2, start=30)
    from poplist.delivery import engine

    engine.send_batch(batch, transport, engine.Prepared())
    drain(transport)
    assert sorted(smtp_sink.recipients()) == ["m0@example.com", "m1@example.com", "m2@example.com"]
    job.refresh_from_db()
    assert job.status == DeliveryJob.Status.DONE


def test_bulk_mode_groups_recipients_by_domain(make_list, add_members, post_job, smtp_sink, pool_for, monkeypatch):
    monkeypatch.setenv("POPLIST_BULK_RECIPIENTS", "4")
    bulk_list = make_list("bulk", personalize=False)
    add_members(bulk_list, 20, domains=("a.example", "b.example"))
    job = post_job(bulk_list)
    drain(pool_for(smtp_sink))
    job.refresh_from_db()
    assert job.sent == 20
    assert sorted(smtp_sink.recipients()) == sorted(f"m{i}@{'ab'[i % 2]}.example" for i in range(20))
    for received in smtp_sink.messages:
        assert len(received.recipients) <= 4
        assert len({r.rpartition("@")[2] for r in received.recipients}) == 1
        assert received.mail_from == "bulk-bounces@lists.acme.test"
    assert len(smtp_sink.messages) == 6  # 10 per domain, at most 4 per transaction
