"""The seam between delivery and the network: a transport takes envelopes and answers per recipient.

Delivery owns this Protocol; the SMTP client and the local outbox implement it.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote, urlsplit

from poplist.core.errors import InvalidInput


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    recipients: Sequence[str]
    data: bytes


@dataclass
class Result:
    """The relay's answer for each recipient of one envelope: {address: (code, text)}."""

    replies: dict[str, tuple[int, str]] = field(default_factory=dict)

    def accepted(self, recipient: str) -> bool:
        return 200 <= self.replies.get(recipient, (0, ""))[0] < 300


class Transport(Protocol):
    def send_many(self, envelopes: Sequence[Envelope]) -> list[Result]: ...

    def close(self) -> None: ...


class OutboxTransport:
    """Keeps every message in the database's outbox: what a demo would have sent."""

    def send_many(self, envelopes: Sequence[Envelope]) -> list[Result]:
        from poplist.delivery.models import OutboxMessage

        OutboxMessage.objects.bulk_create(
            OutboxMessage(mail_from=e.mail_from, recipients=list(e.recipients), raw=e.data) for e in envelopes
        )
        return [Result({r: (250, "2.0.0 kept in the outbox") for r in e.recipients}) for e in envelopes]

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class RelayConfig:
    host: str
    port: int
    tls: bool  # implicit TLS (smtps)
    starttls: bool
    username: str | None
    password: str | None


def parse_relay(url: str) -> RelayConfig:
    """smtp://[user:password@]host[:port][?starttls=no] or smtps://…"""
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise InvalidInput("POPLIST_RELAY must look like smtp://host:port or smtps://user:password@host:port")
    tls = parts.scheme == "smtps"
    return RelayConfig(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        tls=tls,
        starttls=not tls and "starttls=no" not in parts.query,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SimpleSMTPTransport:
    """One smtplib connection per batch of notices; posts go through the pipelined pool instead."""

    def __init__(self, relay: RelayConfig, timeout: float = 30) -> None:
        self.relay = relay
        self.timeout = timeout

    def _connect(self) -> smtplib.SMTP:
        if self.relay.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.relay.host, self.relay.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(self.relay.host, self.relay.port, timeout=self.timeout)
            client.ehlo()
            if self.relay.starttls and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
        if self.relay.username:
            client.login(self.relay.username, self.relay.password or "")
        return client

    def send_many(self, envelopes: Sequence[Envelope]) -> list[Result]:
        results: list[Result] = []
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            return [Result({r: (451, f"4.4.1 relay unreachable: {exc}") for r in e.recipients}) for e in envelopes]
        try:
            for envelope in envelopes:
                results.append(self._send_one(client, envelope))
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()
        return results

    def _send_one(self, client: smtplib.SMTP, envelope: Envelope) -> Result:
        options = ["SMTPUTF8"] if not all(r.isascii() for r in envelope.recipients) else []
        try:
            refused = client.sendmail(envelope.mail_from, list(envelope.recipients), envelope.data, options)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except smtplib.SMTPResponseException as exc:
            reply = (exc.smtp_code, exc.smtp_error.decode("utf-8", "replace"))
            return Result({r: reply for r in envelope.recipients})
        except (OSError, smtplib.SMTPException) as exc:
            return Result({r: (451, f"4.4.2 connection lost: {exc}") for r in envelope.recipients})
        replies = {r: (250, "2.0.0 ok") for r in envelope.recipients}
        for recipient, (code, text) in refused.items():
            replies[recipient] = (code, text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
        return Result(replies)

    def close(self) -> None:
        pass


def default_transport() -> Transport:
    from django.conf import settings

    if settings.RELAY_URL:
        return SimpleSMTPTransport(parse_relay(settings.RELAY_URL.split(",")[0].strip()))
    return OutboxTransport()


def post_transport() -> Transport:
    """The pipelined pool for posts (several relays, weights, failover), or the outbox without a relay."""
    from django.conf import settings

    if not settings.RELAY_URL:
        return OutboxTransport()
    from poplist import config
    from poplist.delivery.smtp import PooledTransport, parse_relays

    return PooledTransport(
        parse_relays(settings.RELAY_URL),
        timeout=float(config.get("smtp_timeout")),
        per_domain=int(config.get("domain_concurrency")),
    )
