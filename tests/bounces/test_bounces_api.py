"""The bounces API: a list's events (paged), members' standing, re-enabling, the tenant's rates.

Another tenant's token gets 404 for every list endpoint and changes nothing; its rates never
include this tenant's figures.
"""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from poplist.accounts.services import create_api_token, suspend_tenant
from poplist.bounces import services
from poplist.bounces.models import BounceScore
from poplist.lists.models import Member
from poplist.testing.fixtures_bounces import dsn

pytestmark = pytest.mark.django_db
LIST = "news@lists.acme.test"


class Api:
    def __init__(self, tenant=None) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {create_api_token(tenant)[1]}")

    @staticmethod
    def _answer(response):
        response.data = json.loads(response.content) if response.content else None
        return response

    def get(self, path: str, **params):
        return self._answer(self.client.get("/api/v1" + path, params))

    def post(self, path: str):
        return self._answer(self.client.post("/api/v1" + path, content_type="application/json"))


def bounce(mailing_list, raw: bytes) -> None:
    services.receive_bounce(mailing_list, raw, verp_token=None, envelope_from="", inbound_message_id=None)


def disable_by_bounces(mailing_list, email: str) -> None:
    """Two hard bounces on two days: past the fixture list's threshold of 2."""
    start = timezone.now()
    for day in range(2):
        with mock.patch("django.utils.timezone.now", return_value=start + timedelta(days=day)):
            bounce(mailing_list, dsn(email))


@pytest.fixture
def acme(tenant):
    return Api(tenant)


@pytest.fixture
def globex(other_tenant):
    return Api(other_tenant)


def test_events_are_paged_newest_first_and_filtered(bounce_list, acme):
    bounce(bounce_list, dsn("alice@example.org", "5.1.1"))
    bounce(bounce_list, dsn("bob@example.org", "5.2.2", diagnostic="smtp; 552 5.2.2 Mailbox full"))
    bounce(bounce_list, dsn("stranger@example.org", "5.1.1"))

    first = acme.get(f"/lists/{LIST}/bounces/events", limit=2)
    assert first.status_code == 200
    assert [(e["email"], e["kind"], e["outcome"], e["member"]) for e in first.data["items"]] == [
        ("stranger@example.org", "hard", "not_a_member", False),
        ("bob@example.org", "soft", "scored", True),
    ]
    assert first.data["next"]
    second = acme.get(f"/lists/{LIST}/bounces/events", limit=2, cursor=first.data["next"])
    assert [(e["email"], e["status"], e["source"]) for e in second.data["items"]] == [
        ("alice@example.org", "5.1.1", "dsn")
    ]
    assert second.data["next"] is None
    assert "User unknown" in second.data["items"][0]["diagnostic"]

    soft = acme.get(f"/lists/{LIST}/bounces/events", kind="soft")
    assert [e["email"] for e in soft.data["items"]] == ["bob@example.org"]
    alice = acme.get(f"/lists/{LIST}/bounces/events", email="alice@example.org")
    assert [e["kind"] for e in alice.data["items"]] == ["hard"]
    assert acme.get(f"/lists/{LIST}/bounces/events", cursor="forged").status_code == 400


def test_members_standing_worst_first_and_one_members_steps(bounce_list, acme):
    bounce(bounce_list, dsn("bob@example.org", "5.2.2", diagnostic="smtp; 552 5.2.2 Mailbox full"))
    disable_by_bounces(bounce_list, "alice@example.org")

    listed = acme.get(f"/lists/{LIST}/bounces/members")
    assert listed.status_code == 200
    assert [(m["email"], m["score"], m["state"], m["member_status"]) for m in listed.data["items"]] == [
        ("alice@example.org", 2.0, "disabled", "disabled"),
        ("bob@example.org", 0.5, "ok", "enabled"),
    ]
    disabled = acme.get(f"/lists/{LIST}/bounces/members", state="disabled")
    assert [m["email"] for m in disabled.data["items"]] == ["alice@example.org"]
    assert disabled.data["items"][0]["warnings_sent"] == 1

    alice = acme.get(f"/lists/{LIST}/bounces/members/alice@example.org")
    assert alice.status_code == 200
    assert (alice.data["disabled_reason"], alice.data["score"]) == ("by_bounces", 2.0)
    assert [s["action"] for s in alice.data["steps"]] == ["disabled", "scored", "scored"]
    carol = acme.get(f"/lists/{LIST}/bounces/members/carol@example.org")  # a member who never bounced
    assert (carol.data["score"], carol.data["state"], carol.data["steps"]) == (0.0, "", [])
    assert acme.get(f"/lists/{LIST}/bounces/members/nobody@example.org").status_code == 404


def test_reenable_turns_delivery_back_on_once(bounce_list, acme):
    disable_by_bounces(bounce_list, "alice@example.org")
    answer = acme.post(f"/lists/{LIST}/bounces/members/alice@example.org/reenable")
    assert answer.status_code == 200
    assert (answer.data["reenabled"], answer.data["member_status"], answer.data["score"], answer.data["state"]) == (
        True,
        "enabled",
        0.0,
        "ok",
    )
    steps = acme.get(f"/lists/{LIST}/bounces/members/alice@example.org").data["steps"]
    assert steps[0]["action"] == "reenabled" and steps[0]["detail"].startswith("api:")
    again = acme.post(f"/lists/{LIST}/bounces/members/alice@example.org/reenable")
    assert again.status_code == 409
    assert "not disabled by bounces" in again.data["detail"]


def test_a_suspended_tenant_reads_but_does_not_reenable(bounce_list, tenant, acme):
    disable_by_bounces(bounce_list, "alice@example.org")
    suspend_tenant(tenant, reason="unpaid")
    assert acme.get(f"/lists/{LIST}/bounces/members").status_code == 200
    assert acme.post(f"/lists/{LIST}/bounces/members/alice@example.org/reenable").status_code == 403
    assert Member.objects.get(email="alice@example.org", role="member").status == "disabled"


def test_another_tenant_sees_nothing_and_changes_nothing(bounce_list, acme, globex):
    disable_by_bounces(bounce_list, "alice@example.org")
    for path in (
        f"/lists/{LIST}/bounces/events",
        f"/lists/{LIST}/bounces/members",
        f"/lists/{LIST}/bounces/members/alice@example.org",
    ):
        answer = globex.get(path)
        assert answer.status_code == 404, path
        assert "alice" not in answer.content.decode()
    assert globex.post(f"/lists/{LIST}/bounces/members/alice@example.org/reenable").status_code == 404
    assert Member.objects.get(email="alice@example.org", role="member").status == "disabled"
    assert BounceScore.objects.get(member__email="alice@example.org").score == 2
    assert globex.get("/bounces/rates").data == []
    assert [r["key"] for r in globex.get("/bounces/rates", by="tenant").data] == []


def test_rates_per_sending_domain_for_the_tenant_and_per_tenant_for_admins(bounce_list, acme, other_tenant):
    bounce(bounce_list, dsn("alice@example.org", "5.1.1"))
    bounce(bounce_list, dsn("bob@example.org", "5.7.1", diagnostic="smtp; 550 5.7.1 Message rejected as spam"))
    bounce(bounce_list, dsn("stranger@example.org", "5.1.1"))  # not a member: not the sender's record

    mine = acme.get("/bounces/rates")
    assert mine.status_code == 200
    assert [(r["key"], r["hard"], r["policy"], r["complaints"]) for r in mine.data] == [("lists.acme.test", 1, 1, 0)]
    assert [r["key"] for r in acme.get("/bounces/rates", by="tenant").data] == ["acme"]
    assert acme.get("/bounces/rates", days=0).status_code == 422

    host = Api(None)
    assert [(r["key"], r["hard"]) for r in host.get("/bounces/rates", by="tenant").data] == [("acme", 1)]
