"""A list's archive through /api/v1/: threads, messages, raw download."""

from __future__ import annotations

import pytest
from api_fixtures import assert_problem

from poplist.archive.services import archive_message

pytest_plugins = ["api_fixtures"]
pytestmark = pytest.mark.django_db
NEWS = "/lists/news@lists.acme.test"


def post(number: int, subject: str, reply_to: str | None = None, day: int = 1) -> bytes:
    headers = [
        "From: Ann Example <ann@example.org>",
        f"Subject: {subject}",
        f"Message-ID: <m{number}@example.org>",
        f"Date: Mon, {day:02d} Jun 2026 10:{number:02d}:00 +0000",
    ]
    if reply_to:
        headers += [f"In-Reply-To: <{reply_to}>", f"References: <{reply_to}>"]
    return ("\r\n".join(headers) + f"\r\n\r\nBody of message {number}.\r\n").encode()


@pytest.fixture
def archived(mailing_list):
    first = archive_message(mailing_list, post(1, "Hello"), live=False)
    reply = archive_message(mailing_list, post(2, "Re: Hello", reply_to="m1@example.org"), live=False)
    other = archive_message(mailing_list, post(3, "Another topic", day=2), live=False)
    return first, reply, other


def test_threads_and_their_messages(acme, archived):
    first, reply, _other = archived
    threads = acme.get(f"{NEWS}/threads").data["items"]
    assert [(t["subject"], t["message_count"]) for t in threads] == [("Another topic", 1), ("Hello", 2)]
    thread_id = threads[1]["id"]
    assert acme.get(f"{NEWS}/threads/{thread_id}").data["subject"] == "Hello"
    messages = acme.get(f"{NEWS}/threads/{thread_id}/messages").data["items"]
    assert [m["id"] for m in messages] == [first.permalink_id, reply.permalink_id]
    assert messages[1]["in_reply_to"] == "<m1@example.org>"
    page = acme.get(f"{NEWS}/threads?limit=1")
    assert len(page.data["items"]) == 1 and page.data["next"]
    rest = acme.get(f"{NEWS}/threads?limit=1&cursor={page.data['next']}").data
    assert rest["items"][0]["id"] == thread_id and rest["next"] is None


def test_messages_newest_first_one_message_and_its_raw_bytes(acme, archived):
    first, _reply, other = archived
    listed = acme.get(f"{NEWS}/messages").data["items"]
    assert listed[0]["id"] == other.permalink_id and len(listed) == 3
    assert [m["id"] for m in acme.get(f"{NEWS}/messages?until=2026-06-02T00:00:00Z").data["items"]][-1] == (
        first.permalink_id
    )
    detail = acme.get(f"{NEWS}/messages/{first.permalink_id}").data
    assert detail["author_email"] == "ann@example.org" and "Body of message 1." in detail["body_text"]
    raw = acme.get(f"{NEWS}/messages/{first.permalink_id}/raw")
    assert raw.status_code == 200 and raw["Content-Type"] == "message/rfc822"
    assert raw.content == post(1, "Hello")
    assert f'filename="{first.permalink_id}.eml"' in raw["Content-Disposition"]


def test_unknown_threads_and_messages(acme, archived):
    assert_problem(acme.get(f"{NEWS}/threads/NOPE"), 404)
    assert_problem(acme.get(f"{NEWS}/threads/NOPE/messages"), 404)
    assert_problem(acme.get(f"{NEWS}/messages/NOPE"), 404)
    assert_problem(acme.get(f"{NEWS}/messages/NOPE/raw"), 404)
    assert_problem(acme.get("/lists/none@lists.acme.test/messages"), 404)
