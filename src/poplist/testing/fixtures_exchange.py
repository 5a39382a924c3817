"""pytest fixtures for the exchange tests (a plugin listed in tests/conftest.py)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest


def rich_message(n: int, *, reply_to: int | None = None, extra: bytes = b"") -> bytes:
    """A post with the traps an mbox writer must survive: From_ lines, CRLF, 8-bit bytes, no final newline."""
    headers = [
        f"From: Writer {n} <w{n}@example.org>",
        "To: news@lists.acme.test",
        f"Subject: {'Re: ' if reply_to is not None else ''}Topic {reply_to if reply_to is not None else n}",
        f"Date: Mon, 0{1 + n % 9} Jun 2026 10:{n % 60:02d}:00 +0200",
        f"Message-ID: <m{n}@example.org>",
    ]
    if reply_to is not None:
        headers += [f"In-Reply-To: <m{reply_to}@example.org>", f"References: <m{reply_to}@example.org>"]
    body = (
        b"Hello.\r\nFrom the start of a line\r\n>From quoted once\r\n>>From twice\r\n"
        b"caf\xe9 in Latin-1\r\nFrom \r\n" + extra
    )
    return "\r\n".join(headers).encode() + b"\r\n\r\n" + body


def build_rich_instance() -> dict:
    """Two tenants with every kind of data the domains in main hold (used by the round-trip tests)."""
    from datetime import UTC, datetime, timedelta

    from poplist.accounts.models import Tenant
    from poplist.accounts.services import add_domain, create_tenant, create_user, set_tenant_status
    from poplist.archive.services import archive_message
    from poplist.lists.models import Member, MemberEvent, PendingRequest
    from poplist.lists.services import add_role, create_list, suppress, update_settings
    from poplist.portability.models import ImportedSetting, MigrationRun

    base = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    acme = create_tenant("acme", "Acme Coöp", "lists.acme.test")
    add_domain(acme, "bücher.acme.test")
    globex = create_tenant("globex", "Globex", "lists.globex.test")
    create_user("owner@acme.test", password="secret-pw", tenant=acme, name="Ówner")
    create_user("helper@acme.test", password="other-pw", tenant=acme)
    create_user("boss@globex.test", password="pw", tenant=globex)
    news = create_list(acme, "news@lists.acme.test", owners=["owner@acme.test"])
    update_settings(
        news,
        {
            "display_name": "Acme News — été",
            "footer": "Unsubscribe: {{poplist:unsubscribe_url}}",
            "welcome_text": "Bienvenue !\nLine two.",
            "archive_policy": "private",
            "subject_prefix": "[news]",
            "bounce_score_threshold": "3.5",
        },
    )
    books = create_list(acme, "livres@bücher.acme.test", owners=["owner@acme.test"])
    add_role(books, "mod@acme.test", "moderator", name="Mödérateur")
    announce = create_list(globex, "announce@lists.globex.test", owners=["boss@globex.test"])
    modes = ["regular", "mime_digest", "plain_digest", "nomail"]
    members = []
    for i in range(230):
        disabled = i % 17 == 0
        members.append(
            Member(
                mailing_list=news if i % 3 else books,
                email=f"person{i}@Example{i % 7}.org",
                display_name=f"Pérson {i}" if i % 2 else "",
                delivery_mode=modes[i % 4],
                status="disabled" if disabled else "enabled",
                disabled_reason="by_bounces" if disabled else "",
                disabled_at=base + timedelta(days=i) if disabled else None,
                moderated=i % 5 == 0,
                attributes={"city": "Zürich", "n": i, "tags": ["a", "b"]} if i % 4 == 0 else {},
                joined_via=["web", "email", "import", "owner", "api", "migration"][i % 6],
                joined_at=base + timedelta(minutes=i, microseconds=i),
                joined_ip=["192.0.2.7", "2001:db8::1", None][i % 3],
                joined_ref=f"<confirm{i}@acme.test>" if i % 2 else "",
                confirmed_at=base + timedelta(minutes=i + 1) if i % 2 else None,
            )
        )
    Member.objects.bulk_create(members)
    Member.objects.create(mailing_list=announce, email="only@globex.test")
    from poplist.lists.services import recount_members

    for mailing_list in (news, books, announce):
        recount_members(mailing_list)
    suppress(news, "gone@example.org", "unsubscribed")
    suppress(books, "bounced@example.org", "bounced")
    from poplist.lists.models import Suppression

    Suppression.objects.create(tenant=acme, email="everywhere@example.org", reason="complaint", note="FBL")
    PendingRequest.objects.create(
        mailing_list=news,
        kind="subscribe",
        email="wants@example.org",
        token_digest="ab" * 32,
        data={"via": "web", "ip": "198.51.100.4"},
        expires_at=base + timedelta(days=7),
    )
    PendingRequest.objects.create(
        mailing_list=books, kind="approval", state="refused", email="no@example.org", expires_at=base, reason="spam"
    )
    MemberEvent.objects.create(
        mailing_list=news, email="person1@Example1.org", action="subscribed", via="web", ip="192.0.2.7"
    )
    MigrationRun.objects.create(
        tenant=acme, mailing_list=books, system="sympa", source="dump/", report={"counts": {"members": 3}}
    )
    ImportedSetting.objects.create(mailing_list=books, key="banned_addresses", system="sympa", value=["spam@x.test"])
    for n in range(12):
        reply_to = n - 1 if n % 3 else None
        archive_message(news, rich_message(n, reply_to=reply_to), received_at=base + timedelta(hours=n), live=False)
    archive_message(books, rich_message(100, extra=b"\r\nno newline at the end"), received_at=base, live=False)
    archive_message(news, b"Subject: no id\n\nbare LF body\nFrom here\n", received_at=base, live=False)
    from poplist.bounces.models import BounceEvent, BounceReport, BounceStep
    from poplist.delivery.models import DkimKey
    from poplist.inbound.models import HeaderFilter, HeldMessage, InboundMessage, SenderFilter

    SenderFilter.objects.create(mailing_list=news, kind="ban", pattern="^spam.*@example\\.com$")
    HeaderFilter.objects.create(mailing_list=news, header="X-Spam-Flag", pattern="YES", action="discard")
    inbound = InboundMessage.objects.create(
        mailing_list=news,
        route="post",
        mail_from="stranger@example.net",
        recipient="news@lists.acme.test",
        raw=rich_message(900),
        size=len(rich_message(900)),
        message_id="<m900@example.org>",
        subject="Topic 900",
        sender="stranger@example.net",
        received_at=base,
        decision="held",
        rule="nonmember",
        reason="not a member",
    )
    HeldMessage.objects.create(
        inbound=inbound,
        mailing_list=news,
        rule="nonmember",
        reason="not a member",
        expires_at=base + timedelta(days=14),
    )
    DkimKey.objects.create(
        domain="lists.acme.test",
        selector="pl1",
        algorithm="rsa-sha256",
        private_key="-----BEGIN PRIVATE KEY-----\nX\n-----END PRIVATE KEY-----\n",
    )
    event = BounceEvent.objects.create(
        tenant=acme,
        mailing_list=news,
        email="person1@Example1.org",
        kind="hard",
        outcome="scored",
        raw=b"DSN\r\n\xff",
        status="5.1.1",
    )
    BounceStep.objects.create(
        mailing_list=news, email="person1@Example1.org", action="disabled", score=5.0, event=event
    )
    BounceReport.objects.create(
        mailing_list=news, period_start=base, period_end=base + timedelta(days=1), summary={"hard": 1}
    )
    from poplist.sites.services import create_site, deploy_files, rollback

    site = create_site(acme, "acme-www", ["www.acme.test"])
    deploy_files(site, {"index.html": b"<h1>Acme</h1>" * 40, "logo.png": bytes(range(256)) * 3}, via="cli")
    deploy_files(site, {"index.html": b"<h1>Acme v2</h1>" * 40, "logo.png": bytes(range(256)) * 3}, via="api")
    rollback(site, 1)
    set_tenant_status(globex, Tenant.Status.SUSPENDED, "unpaid")
    return {"acme": acme, "globex": globex, "news": news, "books": books}


@pytest.fixture
def rich_instance(db):
    return build_rich_instance()


class fresh_database:
    """An empty database of the given engine for a child process (a file, or a new PostgreSQL database)."""

    def __init__(self, engine: str, sqlite_path: Path) -> None:
        self.engine = engine
        self.sqlite_path = sqlite_path
        self.name = f"poplist_exchange_rt_{uuid.uuid4().hex[:10]}"
        base = os.environ.get("POPLIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/poplist")
        self.server = base.rsplit("/", 1)[0]

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.server + "/postgres", autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql)

    def __enter__(self) -> str:
        if self.engine == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        try:
            self._admin(f'CREATE DATABASE "{self.name}"')
        except Exception as exc:
            if os.environ.get("CI", "").lower() == "true":
                raise
            pytest.skip(f"PostgreSQL is unreachable: {exc}")
        return f"{self.server}/{self.name}"

    def __exit__(self, *exc) -> None:
        if self.engine == "postgresql":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def query_database(url: str, sql: str) -> list[tuple]:
    """Read another instance's database directly (what a user of that instance would see)."""
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute(sql).fetchall()


def wait_for_http(url: str, timeout: float = 30) -> None:
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(url)
