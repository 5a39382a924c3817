"""Notices (confirmation, welcome, goodbye, owner and host notices) leave DKIM-signed like posts."""

from __future__ import annotations

import email
import email.policy

import dkim
import pytest

from poplist.delivery import keys
from poplist.delivery.models import DkimKey, OutboundMessage
from poplist.delivery.notices import send_host_notice, send_list_notice
from poplist.delivery.services import send_queued
from poplist.delivery.transport import SimpleSMTPTransport, parse_relay
from poplist.lists import subscriptions
from poplist.testing.fixtures_delivery import dkim_dns

pytestmark = pytest.mark.django_db(transaction=True)


def _send(sink) -> int:
    return send_queued(SimpleSMTPTransport(parse_relay(sink.url), timeout=10))


def _signatures(data: bytes) -> list[dict[bytes, bytes]]:
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    out = []
    for value in message.get_all("DKIM-Signature") or []:
        tags = {}
        for part in "".join(value.split()).split(";"):
            if "=" in part:
                name, _, tag = part.partition("=")
                tags[name.encode()] = tag.encode()
        out.append(tags)
    return out


def test_list_notices_are_signed_by_the_list_domain_and_verify(mailing_list, smtp_sink):
    made = keys.generate("lists.acme.test", ed25519_too=True)
    records = dict(keys.dns_record(k) for k in made)
    # A confirmation (the web's subscribe form), a welcome and the goodbye as the services queue them.
    subscriptions.request_subscription(mailing_list, "ann@example.org")
    subscriptions.subscribe(mailing_list, "bob@example.org")
    subscriptions.unsubscribe(mailing_list, "bob@example.org")
    send_list_notice(
        "goodbye",
        mailing_list,
        "carl@example.org",
        {"by_owner": False},
        language="fr",  # quoted-printable body: the signature covers it as sent
        extra_headers={
            "List-Unsubscribe": "<https://example.org/x>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )

    assert _send(smtp_sink) >= 4
    kinds = set(OutboundMessage.objects.values_list("kind", flat=True))
    assert {"confirm_subscribe", "welcome", "goodbye"} <= kinds
    assert not OutboundMessage.objects.exclude(status="sent").exists()
    assert len(smtp_sink.messages) == OutboundMessage.objects.count()
    for received in smtp_sink.messages:
        signatures = _signatures(received.data)
        assert [(s[b"d"], s[b"a"]) for s in signatures] == [
            (b"lists.acme.test", b"ed25519-sha256"),
            (b"lists.acme.test", b"rsa-sha256"),
        ], received.data[:400]
        for index in range(2):  # dkimpy, an independent implementation, checks each signature
            assert dkim.DKIM(received.data).verify(idx=index, dnsfunc=dkim_dns(records)), received.data[:800]
        signed = signatures[0][b"h"].split(b":")
        assert {b"from", b"to", b"subject", b"date", b"message-id"} <= set(signed)
        # Any change to what was signed breaks it.
        tampered = received.data.replace(b"Subject: ", b"Subject: Re: ", 1)
        assert not dkim.verify(tampered, dnsfunc=dkim_dns(records))
    goodbye = next(m for m in smtp_sink.messages if m.recipients == ["carl@example.org"])
    assert {b"list-unsubscribe", b"list-unsubscribe-post"} <= set(_signatures(goodbye.data)[0][b"h"].split(b":"))


def test_host_notices_are_signed_when_the_host_domain_has_a_key(tenant, smtp_sink, settings):
    settings.ADMIN_EMAIL = "postmaster@host.test"
    send_host_notice("tenant_suspended", "boss@acme.test", {"tenant": tenant, "reason": "unpaid"}, tenant=tenant)
    assert _send(smtp_sink) == 1
    assert b"DKIM-Signature" not in smtp_sink.messages[0].data  # no key for host.test: sent as before

    made = keys.generate("host.test")
    send_host_notice("tenant_reactivated", "boss@acme.test", {"tenant": tenant}, tenant=tenant)
    assert _send(smtp_sink) == 1
    data = smtp_sink.messages[1].data
    assert _signatures(data)[0][b"d"] == b"host.test"
    assert dkim.verify(data, dnsfunc=dkim_dns(dict(keys.dns_record(k) for k in made)))


def test_a_corrupt_key_holds_notices_until_it_is_fixed(mailing_list, smtp_sink):
    (key,) = keys.generate("lists.acme.test")
    good = key.private_key
    DkimKey.objects.filter(pk=key.pk).update(private_key="-----BEGIN PRIVATE KEY-----\nnot a key\n")
    send_list_notice("goodbye", mailing_list, "carl@example.org", {"by_owner": True})

    assert _send(smtp_sink) == 1
    assert smtp_sink.messages == []  # nothing left unsigned
    message = OutboundMessage.objects.get()
    assert message.status == "queued" and "cannot be read" in message.last_error

    DkimKey.objects.filter(pk=key.pk).update(private_key=good)
    OutboundMessage.objects.update(next_attempt_at=message.created_at)
    assert _send(smtp_sink) == 1
    assert OutboundMessage.objects.get().status == "sent"
    records = dict([keys.dns_record(DkimKey.objects.get())])
    assert dkim.verify(smtp_sink.messages[0].data, dnsfunc=dkim_dns(records))


def test_a_list_that_requires_dkim_holds_its_notices_without_a_key(mailing_list, smtp_sink, monkeypatch):
    monkeypatch.setenv("POPLIST_DKIM_REQUIRED", "true")
    send_list_notice("goodbye", mailing_list, "carl@example.org", {"by_owner": True})
    assert _send(smtp_sink) == 1
    assert smtp_sink.messages == []
    assert "poplist dkim generate lists.acme.test" in OutboundMessage.objects.get().last_error
