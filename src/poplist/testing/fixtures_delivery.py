"""pytest fixtures for the delivery tests (a plugin listed in tests/conftest.py)."""

from __future__ import annotations

import pytest

POST = (
    b"From: Ann <ann@example.org>\r\n"
    b"To: news@lists.acme.test\r\n"
    b"Subject: [news] Hello everyone\r\n"
    b"Date: Fri, 27 Nov 2026 03:00:00 +0000\r\n"
    b"Message-ID: <post-1@example.org>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"List-Id: News <news.lists.acme.test>\r\n"
    b"List-Post: <mailto:news@lists.acme.test>\r\n"
    b"\r\n"
    b"Hello,  this is   the post.\r\n"
    b".a line that starts with a dot\r\n"
    b"\r\n"
    b"-- \r\n"
    b"Leave: {{poplist:unsubscribe_url}}  \r\n"
    b"Preferences: {{poplist:preferences_url}}\r\n"
    b"\r\n"
)


@pytest.fixture
def add_members():
    """add_members(list, n, start=0, domain=...) -> created Member rows, fast (bulk insert)."""
    from poplist.lists.models import Member

    def add(mailing_list, n: int, start: int = 0, domains: tuple[str, ...] = ("example.com",), **fields):
        rows = [
            Member(
                mailing_list=mailing_list,
                email=f"m{i}@{domains[i % len(domains)]}",
                role="member",
                **fields,
            )
            for i in range(start, start + n)
        ]
        Member.objects.bulk_create(rows, batch_size=2000)
        return rows

    return add


@pytest.fixture
def post_job():
    """post_job(list, raw=POST) -> a DeliveryJob queued as inbound would."""
    from poplist.delivery.jobs import enqueue_post

    def make(mailing_list, raw: bytes = POST, message_id: str = "<post-1@example.org>"):
        return enqueue_post(mailing_list, raw, message_id=message_id)

    return make


@pytest.fixture
def pool_for():
    """pool_for(sink, **options) -> a PooledTransport to a sink, closed after the test."""
    from poplist.delivery.smtp import PooledTransport, parse_relays

    made = []

    def make(sink, connections: int = 4, timeout: float = 5.0, **options):
        transport = PooledTransport(parse_relays(f"{sink.url}&connections={connections}"), timeout=timeout, **options)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close()


def drain(transport, prepared=None, rounds: int = 10_000) -> int:
    """Run the engine until it has nothing left to do; returns copies handled."""
    from poplist.delivery import engine

    prepared = prepared or engine.Prepared()
    total = 0
    for _ in range(rounds):
        done = engine.run_once(transport, prepared)
        if not done:
            return total
        total += done
    raise AssertionError("the engine never ran out of work")


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a `poplist` child process that must see the test database."""
    import os

    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{settings['NAME']}"
    else:
        url = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    return {**os.environ, "POPLIST_DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "poplist.settings", **extra}


@pytest.fixture
def start_worker():
    """start_worker(**env) -> a `poplist worker` child process; every one left is killed after the test."""
    import subprocess
    import sys

    started = []

    def start(**env: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "poplist", "worker"],
            env=child_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def dkim_dns(records: dict[str, str]):
    """A DNS lookup for dkimpy's verifier answering from `records` (name -> TXT value): no network in tests."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        value = records.get(name.decode().rstrip("."))
        return value.encode() if value else None

    return lookup
