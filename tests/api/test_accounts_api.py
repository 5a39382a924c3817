"""Tenants (admins), domains and tokens through /api/v1/."""

from __future__ import annotations

import pytest
from api_fixtures import ApiClient, assert_problem, new_token

from poplist.accounts.models import ApiToken, Tenant
from poplist.accounts.services import create_user

pytest_plugins = ["api_fixtures"]
pytestmark = pytest.mark.django_db


def test_admins_create_list_suspend_reactivate_and_close_tenants(admin):
    created = admin.post("/tenants", {"slug": "initech", "name": "Initech", "domain": "lists.initech.test"})
    assert created.status_code == 201, created.content
    assert created.data["domains"] == ["lists.initech.test"] and created.data["status"] == "active"
    assert [t["slug"] for t in admin.get("/tenants").data["items"]] == ["initech"]

    suspended = admin.post("/tenants/initech/suspend", {"reason": "unpaid invoice"})
    assert suspended.data["status"] == "suspended" and suspended.data["status_reason"] == "unpaid invoice"
    assert admin.post("/tenants/initech/reactivate").data["status"] == "active"
    assert admin.post("/tenants/initech/close", {"reason": "left"}).data["status"] == "closed"
    assert Tenant.objects.get(slug="initech").status == "closed"

    assert_problem(admin.post("/tenants", {"slug": "initech", "name": "Again"}), 409)
    assert_problem(admin.post("/tenants", {"slug": "Not A Slug", "name": "x"}), 400)
    assert_problem(admin.get("/tenants/nobody"), 404)


def test_suspending_a_tenant_mails_its_owners(admin, tenant):
    from poplist.delivery.models import OutboundMessage

    create_user("boss@acme.test", tenant=tenant, language="fr")
    assert admin.post("/tenants/acme/suspend", {"reason": "unpaid"}).status_code == 200
    [notice] = OutboundMessage.objects.filter(recipients=["boss@acme.test"])
    assert notice.kind.endswith("tenant_suspended")
    assert b"unpaid" in bytes(notice.raw)


def test_a_tenant_token_sees_its_own_tenant_and_no_admin_action(acme, globex, mailing_list):
    mine = acme.get("/tenants")
    assert [t["slug"] for t in mine.data["items"]] == ["acme"]
    assert mine.data["items"][0]["lists"] == 1
    assert acme.get("/tenants/acme").data["domains"] == ["lists.acme.test"]
    assert_problem(acme.post("/tenants", {"slug": "mine", "name": "Mine"}), 403, "forbidden")
    assert_problem(acme.post("/tenants/acme/suspend", {}), 403)
    assert_problem(acme.get("/tenants/globex"), 404)
    assert_problem(acme.post("/tenants/globex/suspend", {}), 404)


def test_domains(acme, admin, tenant):
    added = acme.post("/domains", {"name": "News.Acme.TEST"})
    assert added.status_code == 201 and added.data == {**added.data, "name": "news.acme.test", "tenant": "acme"}
    assert [d["name"] for d in acme.get("/domains").data["items"]] == ["lists.acme.test", "news.acme.test"]
    assert acme.get("/domains/news.acme.test").data["tenant"] == "acme"
    assert_problem(acme.post("/domains", {"name": "news.acme.test"}), 409)
    assert_problem(acme.post("/domains", {"name": "bad domain"}), 400)
    assert_problem(acme.post("/domains", {"name": "x.test", "tenant": "globex"}), 404)
    assert_problem(admin.post("/domains", {"name": "x.test"}), 400)
    assert admin.post("/domains", {"name": "x.test", "tenant": "acme"}).status_code == 201


def test_tokens_created_listed_and_revoked(acme, tenant):
    created = acme.post("/tokens", {"name": "ci"})
    assert created.status_code == 201 and created.data["token"].startswith("pl_")
    assert created.data["tenant"] == "acme"
    secret = created.data["token"]
    assert {t["name"] for t in acme.get("/tokens").data["items"]} == {"", "ci"}
    assert "token" not in acme.get("/tokens").data["items"][0]
    fresh = ApiClient(secret)
    assert fresh.get("/lists").status_code == 200
    assert acme.delete(f"/tokens/{created.data['id']}").status_code == 204
    assert_problem(fresh.get("/lists"), 401, "unauthenticated")
    assert_problem(acme.delete(f"/tokens/{created.data['id']}"), 404)
    assert ApiToken.objects.get(pk=created.data["id"]).revoked_at is not None


def test_user_tokens_follow_their_user(tenant):
    user, _password = create_user("boss@acme.test", tenant=tenant, language="fr")
    client = ApiClient(new_token(tenant, user=user))
    answer = client.get("/lists/none@lists.acme.test")
    assert_problem(answer, 404)
    assert answer.data["detail"] == "Il n’y a pas de liste none@lists.acme.test."  # the user's language
    user.is_active = False
    user.save()
    assert_problem(client.get("/lists"), 401)
    # A user without a tenant cannot hold a host-wide token unless they are an admin.
    loner, _ = create_user("loner@example.test")
    assert_problem(ApiClient(new_token(None, user=loner)).get("/tenants"), 401)
    root, _ = create_user("root@example.test", superuser=True)
    assert ApiClient(new_token(None, user=root)).get("/tenants").status_code == 200
