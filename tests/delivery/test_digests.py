"""Digests: MIME (multipart/digest) and RFC 1153 plain text, by size threshold or daily."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from django.utils import timezone

from poplist.delivery import digests
from poplist.delivery.models import DeliveryJob, DigestItem
from poplist.testing.fixtures_delivery import POST, drain

pytestmark = pytest.mark.django_db(transaction=True)


def _post(number: int) -> bytes:
    return (
        POST.replace(b"Hello everyone", b"Topic number %d" % number)
        .replace(b"<post-1@", b"<post-%d@" % number)
        .replace(b"the post.", b"the post.\r\n" + b"-" * 30 + b" not a separator")
    )


def test_mime_and_plain_digests_once_past_the_threshold(make_list, add_members, post_job, smtp_sink, pool_for):
    mailing_list = make_list("news", digest_size_kb=1, digest_daily=False)
    add_members(mailing_list, 2, delivery_mode="mime_digest")
    add_members(mailing_list, 1, start=10, delivery_mode="plain_digest")
    add_members(mailing_list, 2, start=20)
    post_job(mailing_list, _post(1), message_id="<post-1@example.org>")
    assert digests.send_due_digests() == 0  # under 1 kB
    for number in (2, 3):
        post_job(mailing_list, _post(number), message_id=f"<post-{number}@example.org>")
    assert digests.send_due_digests() == 2
    assert not DigestItem.objects.exists()
    drain(pool_for(smtp_sink))

    got = {r: [] for r in smtp_sink.recipients()}
    for received in smtp_sink.messages:
        got[received.recipients[0]].append(email.message_from_bytes(received.data, policy=email.policy.default))
    # Regular members got the three posts, digest members one digest each.
    assert [len(got[f"m{i}@example.com"]) for i in (20, 21)] == [3, 3]
    mime = got["m0@example.com"]
    assert len(mime) == 1 and mime[0]["Subject"] == "News Digest, Vol 1, Issue 1"
    parts = list(mime[0].iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "multipart/digest", "text/plain"]
    toc = parts[0].get_content()
    assert "Today's Topics" in toc and "1. [news] Topic number 1" in toc and "3. [news] Topic number 3" in toc
    inner = [p.get_content() for p in parts[1].iter_parts()]
    assert [m["Subject"] for m in inner] == [f"[news] Topic number {n}" for n in (1, 2, 3)]
    assert "/u/" in parts[2].get_content()  # the member's own unsubscribe link
    assert mime[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    (plain,) = got["m10@example.com"]
    text = plain.get_content().replace("\r\n", "\n")
    assert text.startswith("Today's Topics:")
    assert "\n" + "-" * 70 + "\n" in text
    assert text.count("\n" + "-" * 30 + "\n") >= 3
    assert "\n " + "-" * 30 + " not a separator" in text  # shifted, so it cannot end a message
    assert "End of News Digest, Vol 1, Issue 1" in text
    assert all(j.status == "done" for j in DeliveryJob.objects.all())


def test_daily_digest_sends_yesterdays_posts_below_the_threshold(make_list, add_members, post_job):
    mailing_list = make_list("daily", digest_size_kb=1000, digest_daily=True)
    add_members(mailing_list, 1, delivery_mode="plain_digest")
    post_job(mailing_list)
    assert digests.send_due_digests() == 0
    DigestItem.objects.update(created_at=timezone.now() - timedelta(days=1))
    assert digests.send_due_digests() == 2


def test_a_list_without_digest_readers_queues_no_digest(make_list, add_members, post_job):
    mailing_list = make_list("nodigest", digest_size_kb=1)
    add_members(mailing_list, 3)
    for _ in range(3):
        post_job(mailing_list)
    assert digests.send_due_digests() == 0
    assert not DigestItem.objects.exists()
    assert not DeliveryJob.objects.filter(kind="digest").exists()
