"""Lists and members through /api/v1/: every endpoint's happy path and its refusals."""

from __future__ import annotations

import pytest
from api_fixtures import assert_problem

from poplist.lists.models import Member, MemberEvent, Suppression

pytest_plugins = ["api_fixtures"]
pytestmark = pytest.mark.django_db
NEWS = "/lists/news@lists.acme.test"


def test_create_read_update_delete_a_list(acme):
    created = acme.post("/lists", {"address": "news@lists.acme.test", "owners": ["boss@acme.test"]})
    assert created.status_code == 201, created.content
    assert created.data["address"] == "news@lists.acme.test"
    assert created.data["owners"] == ["boss@acme.test"]
    assert created.data["settings"]["subscription_policy"] == "confirm"

    listed = acme.get("/lists")
    assert [row["address"] for row in listed.data["items"]] == ["news@lists.acme.test"]

    changed = acme.patch(NEWS, {"subscription_policy": "open", "max_recipients": 3, "reply_to_list": True})
    assert changed.status_code == 200, changed.content
    assert changed.data["settings"]["subscription_policy"] == "open"
    assert changed.data["settings"]["max_recipients"] == 3 and changed.data["settings"]["reply_to_list"] is True
    assert acme.get(NEWS).data["settings"]["reply_to_list"] is True

    assert acme.delete(NEWS).status_code == 204
    assert_problem(acme.get(NEWS), 404, "not_found")


def test_list_refusals(acme, mailing_list):
    assert_problem(acme.post("/lists", {"address": "news@lists.acme.test"}), 409, "conflict")
    assert_problem(acme.post("/lists", {"address": "x-request@lists.acme.test"}), 400, "invalid")
    assert_problem(acme.post("/lists", {"address": "x@lists.globex.test"}), 404)
    bad = assert_problem(acme.patch(NEWS, {"subscription_policy": "whenever"}), 422, "invalid")
    assert bad["errors"][0]["field"] == "body.subscription_policy"
    assert_problem(acme.patch(NEWS, {"max_recipients": None}), 400)


def test_host_wide_token_creates_a_list_in_the_domains_tenant(admin, tenant):
    created = admin.post("/lists", {"address": "all@lists.acme.test"})
    assert created.status_code == 201 and created.data["tenant"] == "acme"
    assert_problem(admin.post("/lists", {"address": "all@nowhere.test"}), 404)


def test_members_add_read_update_remove(acme, mailing_list, smtp_sink):
    added = acme.post(f"{NEWS}/members", {"email": "ann@Example.ORG", "display_name": "Ann", "welcome": False})
    assert added.status_code == 201, added.content
    assert added.data["email"] == "ann@example.org" and added.data["display_name"] == "Ann"
    member = Member.objects.get(email="ann@example.org", role="member")
    assert member.joined_via == "api"

    assert acme.get(f"{NEWS}/members/ann@example.org").data["display_name"] == "Ann"
    patched = acme.patch(f"{NEWS}/members/ann@example.org", {"delivery_mode": "nomail", "moderated": True})
    assert patched.data["delivery_mode"] == "nomail" and patched.data["moderated"] is True
    disabled = acme.patch(f"{NEWS}/members/ann@example.org", {"enabled": False})
    assert disabled.data["status"] == "disabled" and disabled.data["disabled_reason"] == "by_owner"

    assert acme.delete(f"{NEWS}/members/ann@example.org").status_code == 204
    assert Suppression.objects.filter(email="ann@example.org", reason="removed").exists()
    assert_problem(acme.get(f"{NEWS}/members/ann@example.org"), 404)
    assert_problem(acme.delete(f"{NEWS}/members/ann@example.org"), 404)
    # Removed means suppressed: adding again needs force (their consent).
    assert_problem(acme.post(f"{NEWS}/members", {"email": "ann@example.org"}), 409, "conflict")
    again = acme.post(f"{NEWS}/members", {"email": "ann@example.org", "force": True, "welcome": False})
    assert again.status_code == 201


def test_member_refusals(acme, mailing_list):
    assert acme.post(f"{NEWS}/members", {"email": "bob@example.org", "welcome": False}).status_code == 201
    assert_problem(acme.post(f"{NEWS}/members", {"email": "bob@example.org"}), 409)
    assert_problem(acme.post(f"{NEWS}/members", {"email": "not an address"}), 400)
    errors = assert_problem(acme.post(f"{NEWS}/members", {}), 422)["errors"]
    assert errors == [{"field": "body.email", "message": "This field is required.", "type": "missing"}]
    assert_problem(acme.patch(f"{NEWS}/members/bob@example.org", {"delivery_mode": "pigeon"}), 422)
    assert_problem(acme.patch(f"{NEWS}/members/bob@example.org", {"colour": "blue"}), 422)


def test_owners_and_moderators(acme, mailing_list):
    assert acme.post(f"{NEWS}/members", {"email": "mod@acme.test", "role": "moderator"}).status_code == 201
    assert_problem(acme.post(f"{NEWS}/members", {"email": "mod@acme.test", "role": "moderator"}), 409)
    owners = acme.get(f"{NEWS}/members?role=owner")
    assert owners.status_code == 200
    every = acme.get(f"{NEWS}/members?role=all").data["items"]
    assert {(m["email"], m["role"]) for m in every} == {("owner@acme.test", "owner"), ("mod@acme.test", "moderator")}
    assert acme.delete(f"{NEWS}/members/mod@acme.test?role=moderator").status_code == 204
    assert acme.get(NEWS).data["moderators"] == []


def test_bulk_add_and_remove_report_each_address(acme, mailing_list):
    emails = ["a@example.org", "b@example.org", "a@example.org", "nope"]
    added = acme.post(f"{NEWS}/members/bulk-add", {"emails": emails, "welcome": False})
    assert added.status_code == 200, added.content
    assert [r["result"] for r in added.data["results"]] == ["added", "added", "already_member", "invalid"]
    assert added.data["counts"] == {"added": 2, "already_member": 1, "invalid": 1}
    removed = acme.post(f"{NEWS}/members/bulk-remove", {"emails": ["a@example.org", "zed@example.org"]})
    assert [r["result"] for r in removed.data["results"]] == ["removed", "not_a_member"]
    mailing_list.refresh_from_db()
    assert mailing_list.member_count == 1
    too_many = acme.post(f"{NEWS}/members/bulk-add", {"emails": [f"u{i}@example.org" for i in range(1001)]})
    assert_problem(too_many, 422)


def test_member_pages_walk_every_member_once_with_filters(acme, mailing_list):
    emails = [f"user{i:03d}@example.org" for i in range(120)]
    acme.post(f"{NEWS}/members/bulk-add", {"emails": emails, "welcome": False})
    Member.objects.filter(email__in=emails[:10]).update(delivery_mode="nomail")
    seen, cursor, pages = [], None, 0
    while True:
        page = acme.get(f"{NEWS}/members?limit=50" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200
        seen += [m["email"] for m in page.data["items"]]
        pages += 1
        cursor = page.data["next"]
        if not cursor:
            break
    assert seen == sorted(emails) and pages == 3
    nomail = acme.get(f"{NEWS}/members?delivery_mode=nomail&limit=500").data["items"]
    assert [m["email"] for m in nomail] == emails[:10]
    found = acme.get(f"{NEWS}/members?q=user11").data["items"]
    assert [m["email"] for m in found] == [f"user11{i}@example.org" for i in range(10)]
    assert_problem(acme.get(f"{NEWS}/members?cursor=forged"), 400, "invalid")
    assert_problem(acme.get(f"{NEWS}/members?limit=0"), 422)


def test_a_suspended_tenant_reads_but_changes_nothing(acme, admin, mailing_list):
    assert admin.post("/tenants/acme/suspend", {"reason": "unpaid"}).status_code == 200
    assert acme.get(f"{NEWS}/members?role=owner").status_code == 200
    refused = assert_problem(acme.post(f"{NEWS}/members", {"email": "c@example.org"}), 403, "forbidden")
    assert "suspended" in refused["detail"]
    assert not Member.objects.filter(email="c@example.org").exists()


def test_changes_are_recorded_with_the_token_as_actor(acme, mailing_list):
    acme.patch(NEWS, {"language": "fr"})
    event = MemberEvent.objects.get(action="settings_changed")
    assert event.actor.startswith("api:pl_")
