"""Bad input: huge, broken, looping, unknown and sudden floods of bounces; handled, recorded, never a crash."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from poplist.bounces import services
from poplist.bounces.models import BounceEvent, BounceReport, BounceScore
from poplist.bounces.parse import parse
from poplist.bounces.services import Incoming
from poplist.bounces.verp import verp_token
from poplist.delivery.models import OutboundMessage
from poplist.testing.fixtures_bounces import dsn

CORPUS = Path(__file__).parent / "corpus" / "poplist"
pytestmark = pytest.mark.django_db


def bounce(mailing_list, raw: bytes, token: str | None = None) -> None:
    services.receive_bounce(mailing_list, raw, verp_token=token, envelope_from="", inbound_message_id=1)


def test_a_20_mb_bounce_is_read_from_its_report(bounce_list):
    report = dsn("alice@example.org").replace(b"--B1--", b"")
    huge = (
        report
        + b"--B1\r\nContent-Type: message/rfc822\r\n\r\nSubject: big\r\n\r\n"
        + b"x" * 78 * 270_000
        + b"\r\n--B1--\r\n"
    )
    assert len(huge) > 20_000_000
    started = time.perf_counter()
    bounce(bounce_list, huge)
    assert time.perf_counter() - started < 5
    event = BounceEvent.objects.get()
    assert (event.email, event.kind, event.outcome) == ("alice@example.org", "hard", "scored")


def test_a_broken_charset_is_parsed(bounce_list):
    parsed = parse((CORPUS / "broken_charset.eml").read_bytes())
    assert [(f.email, f.kind, f.status) for f in parsed.failures] == [("broken@example.ru", "hard", "5.1.1")]


def test_garbage_is_recorded_as_unrecognised_and_kept(bounce_list):
    for raw in (
        b"",
        b"\x00\xff" * 1000,
        b"Content-Type: multipart/report; boundary=\r\n\r\n--\r\n",
        b"Subject: hi\r\n\r\nhello",
    ):
        bounce(bounce_list, raw)
    outcomes = set(BounceEvent.objects.values_list("kind", "outcome"))
    assert outcomes == {("unrecognised", "discarded")}
    assert not BounceScore.objects.exists()


def test_a_bounce_of_a_bounce_is_discarded_as_a_loop(bounce_list):
    bounce(bounce_list, (CORPUS / "bounce_of_bounce.eml").read_bytes())
    event = BounceEvent.objects.get()
    assert (event.kind, event.outcome) == ("loop", "discarded")


def test_a_bounce_of_our_own_notice_counts_for_the_member(bounce_list, member_of):
    """The disabled notice leaves with the member's VERP sender: its bounce comes back attributed."""
    alice = member_of("alice@example.org")
    token = verp_token(alice.pk)
    notice_bounce = dsn("alice@example.org", to=f"news-bounces+{token}@lists.acme.test")
    bounce(bounce_list, notice_bounce, token)
    assert BounceEvent.objects.get().member_id == alice.pk


def test_ten_thousand_bounces_at_once(bounce_list, member_of):
    ids = [member_of(e).pk for e in ("alice@example.org", "bob@example.org", "carol@example.org")]
    raws = [dsn(f"user{i}@example.net") for i in range(50)]
    items = [Incoming(raws[i % 50], verp_token(ids[i % 3]) if i % 2 else None, i) for i in range(10_000)]
    for offset in range(0, len(items), 1000):
        services.receive_bounces(bounce_list, items[offset : offset + 1000])
    assert BounceEvent.objects.count() == 10_000
    assert BounceEvent.objects.filter(outcome="scored").count() == 3  # once a day per member
    assert BounceEvent.objects.filter(outcome="not_a_member").count() == 5_000
    assert BounceScore.objects.count() == 3


def test_owners_get_a_weekly_report(bounce_list):
    bounce(bounce_list, dsn("alice@example.org"))
    bounce(bounce_list, dsn("bob@example.org", "5.7.1", diagnostic="smtp; 550 5.7.1 spam"))
    assert services.send_due_reports() == 1
    report = OutboundMessage.objects.get(kind="bounce_report")
    assert report.recipients == ["owner@acme.test"]
    text = bytes(report.raw).decode()
    assert "Hard (address gone):        1" in text
    assert "Refused as spam or policy:   1" in text
    assert "example.org: 1" in text  # the provider that refused the list's mail
    assert BounceReport.objects.get().summary["counts"]["hard"] == 1
    assert services.send_due_reports() == 0  # not again within the week
