"""REST API: pending subscription requests (list, approve, reject, in bulk) and bulk decisions on held posts."""

from __future__ import annotations

import pytest
from api_fixtures import ApiClient, new_token

from poplist.lists.models import Member, MemberEvent, PendingRequest
from poplist.lists.subscriptions import Origin, request_subscription
from poplist.testing.fixtures_inbound import make_message
from poplist.testing.mail import queued

pytest_plugins = ["api_fixtures"]


@pytest.fixture
def moderated(make_list):
    return make_list("club", subscription_policy="moderate")


def ask(mailing_list, *emails):
    for email in emails:
        request_subscription(mailing_list, email, name=email.split("@")[0].title(), origin=Origin(via="web"))
    return {r.email: r.pk for r in PendingRequest.objects.filter(mailing_list=mailing_list)}


def hold(mailing_list, message_id: str, sender: str = "zed@example.net"):
    from poplist.inbound.models import HeldMessage
    from poplist.inbound.receive import make_incoming, receive
    from poplist.inbound.routing import resolve

    receive(resolve(mailing_list.address), make_incoming(sender, make_message(sender=sender, message_id=message_id)))
    return HeldMessage.objects.filter(mailing_list=mailing_list).order_by("-pk").first()


def test_requests_are_listed_and_decided_one_by_one(acme, moderated):
    ids = ask(moderated, "ann@example.org", "bob@example.org")
    base = f"/lists/{moderated.address}/requests"
    page = acme.get(base)
    assert page.status_code == 200
    assert [(r["email"], r["kind"], r["state"]) for r in page.data["items"]] == [
        ("ann@example.org", "approval", "pending"),
        ("bob@example.org", "approval", "pending"),
    ]
    first = acme.get(f"{base}?limit=1")
    assert len(first.data["items"]) == 1 and first.data["next"]
    assert acme.get(f"{base}?limit=1&cursor={first.data['next']}").data["items"][0]["email"] == "bob@example.org"

    approved = acme.post(f"{base}/{ids['ann@example.org']}", {"decision": "approve"})
    assert approved.status_code == 200 and approved.data["state"] == "done"
    assert approved.data["decided_by"].startswith("api:")
    assert Member.objects.filter(mailing_list=moderated, email="ann@example.org", role="member").exists()
    rejected = acme.post(f"{base}/{ids['bob@example.org']}", {"decision": "reject", "reason": "not a club member"})
    assert (rejected.data["state"], rejected.data["reason"]) == ("refused", "not a club member")
    assert not Member.objects.filter(email="bob@example.org").exists()
    again = acme.post(f"{base}/{ids['bob@example.org']}", {"decision": "approve"})
    assert again.status_code == 409 and "handled already" in again.data["detail"]
    assert acme.get(base).data["items"] == []
    assert acme.get(f"{base}/{ids['bob@example.org']}").data["state"] == "refused"


def test_bulk_decisions_on_requests_report_each_id(acme, moderated, make_list):
    ids = ask(moderated, "ann@example.org", "bob@example.org", "cy@example.org")
    other = make_list("other", subscription_policy="moderate")
    elsewhere = ask(other, "dee@example.org")["dee@example.org"]
    acme.post(f"/lists/{moderated.address}/requests/{ids['cy@example.org']}", {"decision": "reject"})
    body = {
        "decision": "approve",
        "ids": [
            ids["ann@example.org"],
            ids["bob@example.org"],
            ids["cy@example.org"],
            elsewhere,
            ids["ann@example.org"],
        ],
    }
    answer = acme.post(f"/lists/{moderated.address}/requests/bulk", body)
    assert answer.status_code == 200
    results = {(r["id"], r["result"]) for r in answer.data["results"]}
    assert results == {
        (ids["ann@example.org"], "subscribed"),
        (ids["bob@example.org"], "subscribed"),
        (ids["cy@example.org"], "error"),  # refused before: handled already
        (elsewhere, "error"),  # another list's request is not this list's to decide
    }
    assert answer.data["counts"] == {"subscribed": 2, "error": 2}
    assert set(Member.objects.filter(mailing_list=moderated, role="member").values_list("email", flat=True)) == {
        "ann@example.org",
        "bob@example.org",
    }
    assert PendingRequest.objects.get(pk=elsewhere).state == "pending"
    bad = acme.post(f"/lists/{moderated.address}/requests/bulk", {"decision": "maybe", "ids": [1]})
    assert bad.status_code == 422
    assert acme.post(f"/lists/{moderated.address}/requests/bulk", {"decision": "reject", "ids": []}).status_code == 422


def test_a_confirmation_waiting_for_its_address_cannot_be_approved_by_an_owner(acme, make_list):
    confirm = make_list("confirm", subscription_policy="confirm")
    request_id = ask(confirm, "ann@example.org")["ann@example.org"]
    assert acme.get(f"/lists/{confirm.address}/requests?kind=subscribe").data["items"][0]["id"] == request_id
    assert acme.get(f"/lists/{confirm.address}/requests?kind=approval").data["items"] == []
    answer = acme.post(f"/lists/{confirm.address}/requests/{request_id}", {"decision": "approve"})
    assert answer.status_code == 409 and "waits for its address" in answer.data["detail"]
    assert not Member.objects.filter(email="ann@example.org", role="member").exists()


def test_another_tenants_token_gets_404_and_changes_nothing(moderated, other_tenant):
    ids = ask(moderated, "ann@example.org")
    globex = ApiClient(new_token(other_tenant))
    base = f"/lists/{moderated.address}"
    request_id = ids["ann@example.org"]
    held = hold(moderated, "<h1@x>")
    answers = [
        globex.get(f"{base}/requests"),
        globex.get(f"{base}/requests/{request_id}"),
        globex.post(f"{base}/requests/{request_id}", {"decision": "approve"}),
        globex.post(f"{base}/requests/bulk", {"decision": "approve", "ids": [request_id]}),
        globex.post(f"{base}/held/bulk", {"decision": "discard", "ids": [held.pk]}),
    ]
    assert [a.status_code for a in answers] == [404] * 5
    assert all(b"ann@example.org" not in a.content for a in answers)
    assert PendingRequest.objects.get(pk=request_id).state == "pending"
    held.refresh_from_db()
    assert held.state == "pending"
    assert not MemberEvent.objects.filter(action__in=["subscribed", "refused"]).exists()


def test_a_suspended_tenant_reads_requests_but_decides_nothing(acme, moderated, tenant):
    from poplist.accounts.services import suspend_tenant

    request_id = ask(moderated, "ann@example.org")["ann@example.org"]
    suspend_tenant(tenant, reason="unpaid")
    assert acme.get(f"/lists/{moderated.address}/requests").status_code == 200
    answer = acme.post(f"/lists/{moderated.address}/requests/bulk", {"decision": "approve", "ids": [request_id]})
    assert answer.status_code == 403
    assert PendingRequest.objects.get(pk=request_id).state == "pending"


def test_held_posts_are_decided_in_bulk(acme, mailing_list):
    from poplist.delivery.models import DeliveryJob

    first, second, third = (hold(mailing_list, f"<{n}@x>") for n in "abc")
    base = f"/lists/{mailing_list.address}/held/bulk"
    answer = acme.post(base, {"decision": "approve", "ids": [first.pk, second.pk, 999999]})
    assert answer.status_code == 200
    assert [(r["id"], r["result"]) for r in answer.data["results"]] == [
        (first.pk, "approved"),
        (second.pk, "approved"),
        (999999, "error"),
    ]
    assert answer.data["counts"] == {"approved": 2, "error": 1}
    assert DeliveryJob.objects.count() == 2
    rejected = acme.post(base, {"decision": "reject", "ids": [third.pk, first.pk], "reason": "off topic"})
    assert [(r["id"], r["result"]) for r in rejected.data["results"]] == [(third.pk, "rejected"), (first.pk, "error")]
    assert "off topic" in str(queued("post_rejected")[0].get_body(("plain",)).get_content())
    assert DeliveryJob.objects.count() == 2  # the approved post is not sent twice
    assert acme.post(base, {"decision": "maybe", "ids": [third.pk]}).status_code == 422
