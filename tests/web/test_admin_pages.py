"""The host's admin pages: tenants with usage against quotas; create, suspend (with a notice), reactivate, close."""

from poplist.accounts.models import Tenant, User
from poplist.testing.mail import body_of, queued


def test_tenants_page_shows_usage_against_quotas(client, host_admin, tenant, mailing_list):
    client.force_login(host_admin)
    page = client.get("/host/tenants/").content.decode()
    assert "acme" in page and "1 / 100" in page


def test_owners_cannot_reach_the_host_pages(client, owner):
    client.force_login(owner)
    assert client.get("/host/tenants/").status_code == 302
    assert client.post("/host/tenants/new/", {"slug": "evil", "name": "Evil"}).status_code == 302
    assert not Tenant.objects.filter(slug="evil").exists()


def test_create_tenant_with_owner(client, host_admin):
    client.force_login(host_admin)
    response = client.post(
        "/host/tenants/new/",
        {"slug": "initech", "name": "Initech", "domain": "lists.initech.test", "owner": "peter@initech.test"},
    )
    assert response.status_code == 302
    assert User.objects.get(email="peter@initech.test").tenant.slug == "initech"
    page = client.get(response["Location"]).content.decode()
    assert "shown once" in page and "lists.initech.test" in page
    again = client.post("/host/tenants/new/", {"slug": "initech", "name": "Again"})
    assert again.status_code == 400 and "already exists" in again.content.decode()


def test_suspend_mails_the_owner_who_can_still_log_in(client, host_admin, owner, tenant, mailing_list):
    client.force_login(host_admin)
    client.post("/host/tenants/acme/status/", {"action": "suspend", "reason": "unpaid invoice"})
    tenant.refresh_from_db()
    assert tenant.status == "suspended"
    [notice] = queued("tenant_suspended")
    assert notice["To"] == "owner@acme.test" and "unpaid invoice" in body_of(notice)
    client.logout()
    assert client.login(username="owner@acme.test", password="correct horse battery")
    page = client.get("/console/").content.decode()
    assert "suspended" in page
    export = client.get(f"/console/lists/{mailing_list.address}/members/export.csv")
    assert export.status_code == 200
    client.force_login(host_admin)
    client.post("/host/tenants/acme/status/", {"action": "reactivate"})
    tenant.refresh_from_db()
    assert tenant.status == "active" and queued("tenant_reactivated")
    client.post("/host/tenants/acme/status/", {"action": "close", "reason": "bye"})
    tenant.refresh_from_db()
    assert tenant.status == "closed"


def test_django_admin_lists_members(client, host_admin, mailing_list):
    client.force_login(host_admin)
    assert client.get("/admin/lists/member/").status_code == 200
    assert client.get("/admin/accounts/tenant/").status_code == 200
