"""What an accepted post becomes: list headers, subject prefix, footer, DMARC rewriting, DKIM."""

from __future__ import annotations

import pytest

from poplist.testing.fixtures_inbound import make_message
from poplist.testing.mail import parse


def prepared(mailing_list, raw: bytes, *, strict: bool = False):
    from poplist.inbound.prepare import prepare
    from poplist.inbound.receive import build_post, make_incoming

    mailing_list.refresh_from_db()
    post = build_post(mailing_list, make_incoming("ann@example.org", raw))
    result = prepare(post, "<m1@example.org>", author_strict=strict)
    assert b"\n" not in result.raw.replace(b"\r\n", b"") and b"\r\r" not in result.raw  # CRLF throughout
    return parse(result.raw), result.raw


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Hello", "[news] Hello"),
        ("[news] Hello", "[news] Hello"),
        ("Re: [news] Re: [news] Hello", "[news] Re: Hello"),
        ("RE: Re: AW: Hello", "[news] Re: Hello"),
        ("", "[news]"),
    ],
)
def test_subject_prefix_never_stacks(subject, expected):
    from poplist.inbound.prepare import prefixed_subject

    assert prefixed_subject(subject, "[news]") == expected


def test_list_headers_and_a_kept_message_id(make_list):
    news = make_list("news")
    message, _raw = prepared(news, make_message(extra="List-Id: <foreign.example.org>\r\nPrecedence: bulk"))
    assert message.get_all("List-Id") == ['"News" <news.lists.acme.test>']
    assert message["List-Help"] == "<mailto:news-request@lists.acme.test?subject=help>"
    assert "mailto:news-join@lists.acme.test" in message["List-Subscribe"]
    assert message.get_all("Precedence") == ["list"]
    assert message["Message-ID"] == "<m1@example.org>"
    assert "List-Unsubscribe" not in message  # added per member by delivery


def test_a_missing_message_id_is_added_and_no_archive_headers_without_archive(make_list):
    news = make_list("news", archive_policy="none")
    message, _raw = prepared(news, make_message(message_id=None))
    assert message["Message-ID"] == "<m1@example.org>"
    assert "List-Archive" not in message and "Archived-At" not in message


def test_footer_is_appended_to_a_single_text_part_with_delivery_placeholders(make_list):
    news = make_list("news", footer="Leave: {{poplist:unsubscribe_url}}")
    message, raw = prepared(news, make_message(body="Héllo\n"))
    text = message.get_content().replace("\r\n", "\n")
    assert text.startswith("Héllo\n") and text.endswith("-- \nLeave: {{poplist:unsubscribe_url}}\n")
    assert b"{{poplist:unsubscribe_url}}" in raw  # verbatim: 8bit, never base64 nor quoted-printable


def test_footer_never_touches_a_signed_part(make_list):
    news = make_list("news", footer="The footer")
    signed_body = "Signed text\r\n"
    raw = (
        "From: Ann <ann@example.org>\r\nTo: news@lists.acme.test\r\nSubject: s\r\nMessage-ID: <s@x>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol="application/pgp-signature"; '
        'boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\n'
        + signed_body
        + "--b1\r\nContent-Type: application/pgp-signature\r\n\r\nSIG\r\n--b1--\r\n"
    ).encode()
    message, prepared_raw = prepared(news, raw)
    assert message.get_content_type() == "multipart/mixed"
    inner, footer = message.get_payload()
    assert inner.get_content_type() == "multipart/signed"
    assert b"--b1\r\nContent-Type: text/plain\r\n\r\nSigned text\r\n--b1" in prepared_raw
    assert footer.get_content().strip() == "The footer"


def test_dmarc_strict_domain_gets_from_rewritten_and_dkim_stripped(make_list, dmarc_records):
    news = make_list("news", subject_prefix="[news]")
    dmarc_records["_dmarc.example.org"] = ["v=DMARC1; p=reject; rua=mailto:x@example.org"]
    raw = make_message(extra="DKIM-Signature: v=1; a=rsa-sha256; d=example.org; b=abc")
    from poplist.inbound import dmarc

    assert dmarc.is_strict("example.org") and dmarc.is_strict("mail.example.org")  # organisational domain
    message, _raw = prepared(news, raw, strict=True)
    assert message["From"] == "Ann via News <news@lists.acme.test>"
    assert message["Reply-To"] == "Ann <ann@example.org>" and message["X-Original-From"] == "Ann <ann@example.org>"
    assert "DKIM-Signature" not in message


def test_unchanged_post_keeps_the_authors_dkim_signature(make_list):
    news = make_list("news", dmarc_mitigation="never")
    message, _raw = prepared(news, make_message(extra="DKIM-Signature: v=1; d=example.org; b=abc"))
    assert message["DKIM-Signature"] and message["From"] == "Ann <ann@example.org>"


def test_dmarc_always_wrap_carries_the_original_untouched(make_list):
    news = make_list("news", dmarc_mitigation="always", dmarc_action="wrap")
    message, _raw = prepared(news, make_message())
    assert message["From"] == "Ann via News <news@lists.acme.test>"
    [inner] = [p for p in message.iter_parts()]
    assert inner.get_content_type() == "message/rfc822"
    assert inner.get_content()["From"] == "Ann <ann@example.org>"


def test_when_strict_leaves_relaxed_domains_alone_over_lmtp(make_list, lmtp, dmarc_records):
    from poplist.delivery.models import DeliveryJob
    from poplist.lists.subscriptions import subscribe

    news = make_list("news")
    subscribe(news, "ann@example.org", welcome=False)
    subscribe(news, "bob@strict.example", welcome=False)
    dmarc_records["_dmarc.strict.example"] = ["v=DMARC1; p=quarantine"]
    dmarc_records["_dmarc.example.org"] = ["v=DMARC1; p=none"]
    lmtp(make_message())
    lmtp(
        make_message(sender="Bob <bob@strict.example>", message_id="<m2@strict.example>"),
        mail_from="bob@strict.example",
    )
    first, second = (parse(bytes(job.message)) for job in DeliveryJob.objects.order_by("pk"))
    assert first["From"] == "Ann <ann@example.org>"
    assert second["From"] == "Bob via News <news@lists.acme.test>"


def test_reply_to_list(make_list):
    news = make_list("news", reply_to_list="true")
    message, _raw = prepared(news, make_message(extra="Reply-To: elsewhere@example.org"))
    assert message.get_all("Reply-To") == ["news@lists.acme.test"]
