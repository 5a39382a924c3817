"""`poplist bounces show|parse|reprocess|rates|run` as an operator uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from poplist.bounces import services
from poplist.bounces.models import BounceEvent
from poplist.testing.fixtures_bounces import dsn

CORPUS = Path(__file__).parent / "corpus"
pytestmark = pytest.mark.django_db


def test_parse_prints_addresses_class_and_status_without_changing_anything(cli):
    files = [str(CORPUS / "poplist" / "gmail_nosuchuser.eml"), str(CORPUS / "poplist" / "office365_spam_policy.eml")]
    result = cli("bounces", "parse", *files)
    assert result.exit_code == 0, result.output
    assert "jane.doe.gone@gmail.com  hard  5.1.1" in result.output
    assert "pat@outlook.com  policy  5.7.1" in result.output
    data = json.loads(cli("bounces", "parse", "--json", files[0]).output)
    assert data[0]["failures"][0] == {
        "email": "jane.doe.gone@gmail.com",
        "class": "hard",
        "status": "5.1.1",
        "diagnostic": data[0]["failures"][0]["diagnostic"],
    }
    assert not BounceEvent.objects.exists()


def test_parse_explains_a_message_that_is_not_a_bounce(cli):
    result = cli("bounces", "parse", str(CORPUS / "poplist" / "autoreply_ooo.eml"))
    assert "auto_reply: an automatic reply, not a bounce" in result.output


def test_show_a_list_and_a_member(cli, bounce_list):
    services.receive_bounce(
        bounce_list, dsn("alice@example.org"), verp_token=None, envelope_from="", inbound_message_id=5
    )
    out = cli("bounces", "show", "news@lists.acme.test").output
    assert "disable at score 2" in out
    assert "alice@example.org" in out and "hard 5.1.1" in out and "scored" in out
    data = json.loads(cli("bounces", "show", "alice@example.org", "--json").output)
    entry = data["lists"][0]
    assert (entry["list"], entry["score"], entry["member"]) == ("news@lists.acme.test", 1, "enabled")
    assert entry["events"][0]["inbound_message_id"] == 5
    assert "no bounce recorded" in cli("bounces", "show", "nobody@example.org").output


def test_show_refuses_what_is_neither_list_nor_address(cli, db):
    result = cli("bounces", "show", "nonsense")
    assert result.exit_code == 2
    assert "neither a list nor an address" in result.output


def test_reprocess_and_rates(cli, bounce_list):
    services.receive_bounce(
        bounce_list, dsn("later@example.org"), verp_token=None, envelope_from="", inbound_message_id=None
    )
    assert "retried 1 kept bounces; 0 now attributed" in cli("bounces", "reprocess").output
    rows = json.loads(cli("bounces", "rates", "--by", "domain", "--json").output)
    assert rows == []  # a bounce from a non-member is not the list's deliverability
    services.record_delivery_failure(
        bounce_list, bounce_list.members.get(email="bob@example.org").pk, "bob@example.org", 550, "5.1.1 unknown"
    )
    rows = json.loads(cli("bounces", "rates", "--json").output)
    assert rows[0]["key"] == "acme" and rows[0]["hard"] == 1
    assert "0 warnings or removals" in cli("bounces", "run").output
