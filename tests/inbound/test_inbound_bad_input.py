"""Hostile and broken mail: nothing crashes the server, nothing is lost, the unparseable is held."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poplist.testing.fixtures_inbound import make_message


@pytest.fixture
def news(make_list):
    from poplist.lists.subscriptions import subscribe

    mailing_list = make_list("news")
    subscribe(mailing_list, "ann@example.org", welcome=False)
    return mailing_list


def stored(raw: bytes):
    """The row of this exact message: the bytes were kept as they came (CRLF on the wire)."""
    from poplist.inbound.client import stuffed
    from poplist.inbound.models import InboundMessage

    wire = stuffed(raw).replace(b"\r\n..", b"\r\n.")
    [row] = [r for r in InboundMessage.objects.all() if bytes(r.raw) == wire]
    return row


NESTED = b"".join(
    b"Content-Type: message/rfc822\r\n\r\nFrom: n%d@example.org\r\nSubject: level %d\r\n" % (i, i) for i in range(100)
)
CASES = {
    "malformed_mime": make_message(extra='Content-Type: multipart/mixed; boundary="never"').replace(
        b"Content-Type: text/plain; charset=utf-8\r\n", b""
    ),
    "no_from": b"To: news@lists.acme.test\r\nSubject: who\r\nMessage-ID: <nf@x>\r\n\r\nbody\r\n",
    "duplicate_subject": make_message(extra="Subject: second subject"),
    "eight_bit_header": make_message().replace(b"Subject: Hello", b"Subject: caf\xe9 cr\xe8me \xff\xfe"),
    "broken_charset": make_message(extra="X-Note: =?x-unknown?Q?=E9t=E9?=").replace(
        b"charset=utf-8", b"charset=no-such-charset"
    ),
    "broken_encoded_word": make_message(subject="=?utf-8?B?////invalid====?= =?utf-8?Q?=ZZ?="),
    "megabyte_header": make_message(extra="X-Big: " + "\r\n ".join(["y" * 900] * 1150)),
    "ten_thousand_headers": make_message(extra="\r\n".join(f"X-H{i}: v" for i in range(10_000))),
    "nested_rfc822": make_message(extra="")
    .replace(b"Content-Type: text/plain; charset=utf-8\r\n", b"Content-Type: message/rfc822\r\n")
    .replace(b"Hi all,", NESTED + b"\r\nHi all,"),
    "injection_in_display_name": make_message(
        sender="=?utf-8?q?Ann=0D=0ABcc=3A_evil=40example=2Eorg?= <ann@example.org>"
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_mail_is_kept_and_decided(case, news, lmtp):
    raw = CASES[case]
    code, _text = lmtp(raw)
    assert code == 250
    row = stored(raw)
    assert row.decision in {"accepted", "held", "discarded", "rejected"}


def test_header_injection_never_reaches_the_prepared_post(make_list, lmtp):
    from poplist.delivery.models import DeliveryJob
    from poplist.lists.subscriptions import subscribe
    from poplist.testing.mail import parse

    news = make_list("news", dmarc_mitigation="always", subject_prefix="[news]")
    subscribe(news, "ann@example.org", welcome=False)
    from poplist.inbound import moderation
    from poplist.inbound.models import HeldMessage

    lmtp(CASES["injection_in_display_name"])
    held = HeldMessage.objects.get()
    assert held.rule == "suspicious_headers" and "The From header" in held.reason
    moderation.approve(held, actor="owner@acme.test")  # even when a moderator lets it through
    raw = bytes(DeliveryJob.objects.get().message)
    assert b"\r\nBcc:" not in raw and not raw.startswith(b"Bcc:")
    prepared = parse(raw)
    assert prepared["From"].addresses[0].addr_spec == "news@lists.acme.test"


def test_what_is_not_mail_at_all_is_held_as_unparseable(news, lmtp):
    from poplist.inbound.models import HeldMessage

    assert lmtp(b"this is not an email at all\r\njust text\r\n")[0] == 250
    held = HeldMessage.objects.get()
    assert held.rule == "unparseable" and "unparseable" in held.reason


def test_duplicate_and_missing_headers_are_held_with_a_reason(news, lmtp):
    from poplist.inbound.models import HeldMessage

    lmtp(CASES["duplicate_subject"])
    assert HeldMessage.objects.get().reason == "The message has 2 Subject headers."


def test_a_recipient_with_a_line_break_is_refused(news, lmtp_server):
    from poplist.inbound.client import LMTPClient

    with LMTPClient("127.0.0.1", lmtp_server.lmtp_port) as client:
        client.command("MAIL FROM:<ann@example.org>")
        code, _text = client.command("RCPT TO:<news@lists.acme.test\rBcc: x@y>")
        assert code in {501, 553}
        assert client.command("NOOP")[0] == 250  # the session goes on


def test_a_single_line_over_the_protocol_limit_is_refused_and_nothing_is_half_stored(news, lmtp):
    from poplist.inbound.models import InboundMessage

    code, text = lmtp(make_message(extra="X-Long: " + "z" * 1_048_576))
    assert code == 500 and text.startswith("5.5.2")
    assert InboundMessage.objects.count() == 0


_headers = st.lists(
    st.tuples(
        st.sampled_from(["From", "To", "Cc", "Subject", "Message-ID", "Content-Type", "X-Any", "Reply-To", "Date"]),
        st.text(max_size=60),
    ),
    max_size=12,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=_headers, body=st.binary(max_size=400), mutation=st.binary(max_size=40), cut=st.integers(0, 600))
def test_generated_and_mutated_messages_never_break_the_pipeline(news, headers, body, mutation, cut):
    from poplist.inbound.chain import decide
    from poplist.inbound.prepare import prepare
    from poplist.inbound.receive import build_post, make_incoming

    head = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("utf-8", "surrogateescape")
    raw = head + b"\r\n" + body
    raw = raw[:cut] + mutation + raw[cut:]  # a mutation anywhere, even inside a header
    post = build_post(news, make_incoming("ann@example.org", raw))
    verdict = decide(post)
    assert verdict.action in {"accept", "hold", "reject", "discard"}
    if verdict.action == "accept":
        assert prepare(post, "<h@example.org>").raw
