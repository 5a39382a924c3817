"""pytest fixtures for the inbound tests (a plugin listed in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def dmarc_records():
    """DNS is outside the machine: every test sees only the DMARC records it puts in this dict."""
    from poplist.inbound import dmarc

    records: dict[str, list[str]] = {}
    dmarc.set_resolver(lambda name: records.get(name, []))
    yield records
    dmarc.set_resolver(None)


@pytest.fixture
def lmtp_server(transactional_db):
    """A real LMTP (and SMTP) server on free ports, with the group-commit writer, in this process."""
    from poplist.inbound.server import running

    with running(smtp=True) as listening:
        yield listening


@pytest.fixture
def lmtp(lmtp_server):
    """send(raw, to=..., mail_from=...) over a real LMTP connection; returns each recipient's (code, text)."""
    from poplist.inbound.client import LMTPClient

    clients = []

    def send(raw: bytes | str, to: str | list[str] = "news@lists.acme.test", mail_from: str = "ann@example.org"):
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        client = LMTPClient("127.0.0.1", lmtp_server.lmtp_port)
        clients.append(client)
        recipients = [to] if isinstance(to, str) else to
        replies = client.send(mail_from, recipients, raw)
        return replies[recipients[0]] if isinstance(to, str) else replies

    yield send
    for client in clients:
        client.close()


def make_message(
    subject: str = "Hello",
    body: str = "Hi all,\nthis is a post.\n",
    sender: str = "Ann <ann@example.org>",
    to: str = "news@lists.acme.test",
    message_id: str | None = "<m1@example.org>",
    extra: str = "",
) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", "Date: Fri, 27 Nov 2026 03:00:00 +0000"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if extra:
        lines.append(extra.rstrip("\n"))
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode("utf-8")
