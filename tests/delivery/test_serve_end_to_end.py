"""Done when: a post accepted by the inbound server reaches every enabled member through `poplist serve`,
over a real SMTP relay, signed and personalised."""

from __future__ import annotations

import signal
import smtplib
import socket
import subprocess
import sys
import time

import dkim
import pytest

from poplist.delivery import keys
from poplist.lists.models import Member
from poplist.testing.counting_sink import run_counting_sink
from poplist.testing.fixtures_delivery import child_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lmtp(port: int, deadline: float) -> smtplib.LMTP:
    while True:
        try:
            return smtplib.LMTP("127.0.0.1", port, timeout=10)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_a_post_through_lmtp_reaches_every_member_signed_and_personal(mailing_list, add_members):
    members = add_members(mailing_list, 25, domains=("example.com", "example.net"))
    Member.objects.create(mailing_list=mailing_list, email="ann@example.org", role="member")
    Member.objects.create(mailing_list=mailing_list, email="gone@example.org", role="member", status="disabled")
    records = dict(keys.dns_record(k) for k in keys.generate("lists.acme.test"))
    lmtp_port, http_port = _free_port(), _free_port()
    with run_counting_sink(keep=True) as sink:
        env = child_env(
            POPLIST_RELAY=sink.url,
            POPLIST_LMTP_PORT=str(lmtp_port),
            POPLIST_BASE_URL=f"http://127.0.0.1:{http_port}",
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "poplist", "serve", "--http-port", str(http_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 90
            client = _lmtp(lmtp_port, deadline)
            post = (
                "From: Ann <ann@example.org>\r\nTo: news@lists.acme.test\r\nSubject: End to end\r\n"
                "Message-ID: <e2e@example.org>\r\nDate: Fri, 27 Nov 2026 04:00:00 +0000\r\n\r\nHello all.\r\n"
            )
            refused = client.sendmail("ann@example.org", ["news@lists.acme.test"], post)
            client.quit()
            assert refused == {}
            expected = {m.email for m in members} | {"ann@example.org"}
            while set(sink.counts) < expected and time.monotonic() < deadline:
                time.sleep(0.3)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
        messages = [m for m in sink.messages if m[1][0] in expected]
    assert set(sink.counts) >= expected and "gone@example.org" not in sink.counts
    assert all(sink.counts[e] == 1 for e in expected)

    def dns(name: bytes, timeout: int = 5) -> bytes | None:
        value = records.get(name.decode().rstrip("."))
        return value.encode() if value else None

    urls = set()
    for mail_from, (_rcpt,), data in messages:
        assert mail_from.startswith("news-bounces+")
        assert b"Subject: End to end" in data or b"End to end" in data
        assert dkim.verify(data, dnsfunc=dns), data[:800]
        header = next(line for line in data.split(b"\r\n") if line.startswith(b"List-Unsubscribe:"))
        urls.add(header)
    assert len(urls) == len(expected)
