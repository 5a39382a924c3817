"""The inbound hot path's shortcuts read mail exactly as the email package's default policy does."""

from __future__ import annotations

import email

from hypothesis import given, settings
from hypothesis import strategies as st

from poplist.core.mime import POLICY, header_text, parse_message, plain_text_of

ATOM = st.text(alphabet="abcXYZ019!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=6)
ADDRESS = st.builds(
    lambda local, domain: f"{local}@{domain}.example", ATOM, st.from_regex(r"[a-z0-9-]{1,8}", fullmatch=True)
)
ITEM = st.one_of(
    ADDRESS, st.builds(lambda names, a: f"{' '.join(names)} <{a}>", st.lists(ATOM, min_size=1, max_size=3), ADDRESS)
)
ADDRESSES = st.lists(ITEM, min_size=1, max_size=3).map(", ".join)
ASCII = st.text(
    alphabet=st.characters(min_codepoint=9, max_codepoint=126, blacklist_characters="\n\r\x0b\x0c"), max_size=60
)


def _reference(raw: bytes, name: str) -> str:
    message = email.message_from_bytes(raw, policy=POLICY)  # the slow, reference reading
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except Exception:
        return ""


@settings(max_examples=300, deadline=None)
@given(subject=ASCII, other=ASCII, addresses=ADDRESSES, free=ASCII, message_id=ASCII)
def test_fast_header_reading_agrees_with_the_default_policy(subject, other, addresses, free, message_id):
    raw = (
        f"Subject: {subject}\r\nX-Other: {other}\r\nFrom: {addresses}\r\nTo: {free}\r\nCc: {addresses}\r\n"
        f"Message-ID: {message_id}\r\nIn-Reply-To: <{message_id}>\r\n\r\nbody\r\n"
    ).encode()
    message = parse_message(raw)
    for name in ("Subject", "X-Other", "From", "To", "Cc", "Message-ID", "In-Reply-To", "Missing"):
        assert header_text(message, name) == _reference(raw, name), name


@settings(max_examples=150, deadline=None)
@given(
    content_type=st.sampled_from(
        [
            "text/plain; charset=utf-8",
            'text/plain; charset="iso-8859-1"',
            "text/html",
            "TEXT/PLAIN",
            "image/png",
            "text/plain; charset=unknown-8bit",
            'multipart/mixed; boundary="b1"',
            "bogus",
        ]
    ),
    disposition=st.sampled_from(["", "inline", "attachment; filename=a.txt", "ATTACHMENT"]),
    cte=st.sampled_from(["7bit", "8bit", "quoted-printable", "base64", "x-weird"]),
    body=st.binary(max_size=200),
)
def test_fast_parse_and_body_reading_agree_with_the_default_policy(content_type, disposition, cte, body):
    from poplist.inbound.post import fast_parse

    head = f"From: a@b.example\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: {cte}\r\n"
    if disposition:
        head += f"Content-Disposition: {disposition}\r\n"
    raw = head.encode() + b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\n" + body + b"\r\n--b1--\r\n"
    reference = email.message_from_bytes(raw, policy=POLICY)
    fast = fast_parse(raw)
    assert fast.policy is POLICY and all(part.policy is POLICY for part in fast.walk())
    assert fast.as_bytes() == reference.as_bytes()
    assert [p.get_content_type() for p in fast.walk()] == [p.get_content_type() for p in reference.walk()]
    assert plain_text_of(fast) == plain_text_of(reference)
    assert all(part.policy is POLICY for part in fast.walk())  # the body reading put the policy back
