"""Custom domains are served only once their owner proved them in the DNS (which is mocked: outside the machine)."""

import re

import pytest
from django.test import Client

HOST = "blog.sites.test"


@pytest.fixture
def live_blog(site, deploy):
    deploy({"index.html": "the blog"})
    return site


def test_a_pending_domain_is_not_served_until_a_txt_record_proves_it(
    live_blog, sites_api, sites_client, fake_dns, client
):
    added = sites_api("post", "/blog/domains/www.acme.test")
    assert added.status_code == 201
    domain = added.json()["domains"][0]
    assert domain["status"] == "pending" and domain["cname_target"] == "blog.sites.test"
    assert domain["txt_record"]["name"] == "_poplist-challenge.www.acme.test"
    token = domain["txt_record"]["value"]
    # Not served, no certificate: the host's 404, never the site's content.
    pending = sites_client.get("www.acme.test", "/")
    assert pending.status == 404 and "the blog" not in pending.text
    assert client.get("/api/v1/sites/tls-check?domain=www.acme.test").status_code == 404

    fake_dns.txt("_poplist-challenge.www.acme.test", "someone-else's-token")
    checked = sites_api("post", "/blog/domains/www.acme.test/check")
    assert checked.json()["status"] == "pending" and "someone-else" in checked.json()["check_found"]
    assert sites_client.get("www.acme.test", "/").status == 404

    fake_dns.txt("_poplist-challenge.www.acme.test", "v=other", token)
    checked = sites_api("post", "/blog/domains/www.acme.test/check")
    assert checked.status_code == 200 and checked.json()["status"] == "verified"
    assert sites_client.get("www.acme.test", "/").text == "the blog"
    assert client.get("/api/v1/sites/tls-check?domain=www.acme.test").status_code == 200


def test_a_cname_to_the_sites_own_hostname_proves_it_one_to_another_site_does_not(live_blog, tenant, fake_dns):
    from poplist.sites.services import add_hostname, check_hostname, create_site

    create_site(tenant, "other")
    add_hostname(live_blog, "shop.acme.test")
    fake_dns.cname("shop.acme.test", "other.sites.test")
    assert check_hostname(live_blog, "shop.acme.test").verified_at is None
    fake_dns.cname("shop.acme.test", "blog.sites.test")
    assert check_hostname(live_blog, "shop.acme.test").verified_at is not None


def test_a_dns_failure_leaves_the_domain_pending_and_says_so(live_blog, fake_dns, sites_client):
    from poplist.sites.services import add_hostname, check_hostname

    add_hostname(live_blog, "www.acme.test")
    fake_dns.down = True
    host = check_hostname(live_blog, "www.acme.test")
    assert host.verified_at is None and "DNS error" in host.check_error and host.checked_at is not None
    assert sites_client.get("www.acme.test", "/").status == 404


def test_a_pending_claim_cannot_squat_a_name_a_verified_one_holds_it(live_blog, other_tenant, fake_dns):
    from poplist.core.errors import Conflict
    from poplist.sites.models import Hostname
    from poplist.sites.services import add_hostname, check_hostname, create_site

    theirs = create_site(other_tenant, "globex")
    squat = add_hostname(theirs, "www.acme.test")  # the other tenant claims acme's name first
    mine = add_hostname(live_blog, "www.acme.test")  # the owner takes the unproven claim over
    assert Hostname.objects.get(name="www.acme.test").site == live_blog and mine.token != squat.token
    add_hostname(theirs, "www.acme.test")  # and back: the owner's token does not change with it
    again = add_hostname(live_blog, "www.acme.test")
    assert again.token == mine.token
    fake_dns.txt("_poplist-challenge.www.acme.test", mine.token)
    assert check_hostname(live_blog, "www.acme.test").verified_at is not None
    with pytest.raises(Conflict, match="already used by another site"):
        add_hostname(theirs, "www.acme.test")


def test_the_worker_rechecks_pending_domains_with_back_off(live_blog, fake_dns, sites_client):
    from poplist.sites.services import add_hostname
    from poplist.sites.tasks import check_domains, worker_tasks

    assert "sites custom domain checks" in [task.name for task in worker_tasks()]
    host = add_hostname(live_blog, "www.acme.test")
    assert check_domains() == 0 and len(fake_dns.questions) == 2  # TXT, then CNAME
    assert check_domains() == 0 and len(fake_dns.questions) == 2  # checked a moment ago: not yet again
    fake_dns.txt("_poplist-challenge.www.acme.test", host.token)
    host.refresh_from_db()
    type(host).objects.filter(pk=host.pk).update(checked_at=host.checked_at.replace(year=2000))
    assert check_domains() == 1
    assert sites_client.get("www.acme.test", "/").text == "the blog"


def test_the_owner_adds_and_checks_a_domain_in_the_console(live_blog, tenant, fake_dns, sites_client):
    from poplist.accounts.models import User

    owner = User.objects.create_user("owner@acme.test", "secret-pass-123", tenant=tenant)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)

    def post(path: str, data: dict | None = None):
        page = browser.get("/console/sites/blog/").content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        return browser.post(path, {**(data or {}), "csrfmiddlewaretoken": token}, follow=True)

    assert browser.post("/console/sites/blog/domains/", {"domain": "www.acme.test"}).status_code == 403  # no CSRF
    page = post("/console/sites/blog/domains/", {"domain": "WWW.acme.test"}).content.decode()
    assert "www.acme.test is pending" in page and "_poplist-challenge.www.acme.test" in page
    token = re.search(r"<code>([0-9a-f]{32})</code>", page).group(1)
    page = post("/console/sites/blog/domains/www.acme.test/check/").content.decode()
    assert "no proof found in the DNS yet" in page and sites_client.get("www.acme.test", "/").status == 404
    fake_dns.txt("_poplist-challenge.www.acme.test", token)
    page = post("/console/sites/blog/domains/www.acme.test/check/").content.decode()
    assert "www.acme.test is verified" in page and "Check now" not in page
    assert sites_client.get("www.acme.test", "/").text == "the blog"
    page = post("/console/sites/blog/domains/", {"domain": "blog2.sites.test"}).content.decode()
    assert "Nothing changed" in page and "given by the host" in page
    page = post("/console/sites/blog/domains/www.acme.test/remove/").content.decode()
    assert "www.acme.test is removed" in page and sites_client.get("www.acme.test", "/").status == 299


def test_another_tenant_cannot_check_or_remove_my_domains(live_blog, other_tenant, fake_dns):
    from poplist.accounts.models import User
    from poplist.sites.services import add_hostname

    add_hostname(live_blog, "www.acme.test")
    browser = Client()
    browser.force_login(User.objects.create_user("x@globex.test", "pw-123456789", tenant=other_tenant))
    assert browser.post("/console/sites/blog/domains/www.acme.test/check/").status_code == 404
    assert browser.post("/console/sites/blog/domains/www.acme.test/remove/").status_code == 404
    assert fake_dns.questions == []


def test_the_cli_shows_the_proof_to_publish_and_checks_it(cli, tenant, sites_cache, fake_dns, sites_client):
    assert cli("site", "create", "blog", "--tenant", "acme", "--domain", "www.acme.test").exit_code == 0
    listed = cli("site", "domains", "blog").output
    assert "www.acme.test  pending" in listed and "CNAME www.acme.test -> blog.sites.test" in listed
    fake_dns.cname("www.acme.test", "elsewhere.example")
    checked = cli("site", "domains", "blog", "check", "www.acme.test")
    assert "pending" in checked.output and "found CNAME elsewhere.example" in checked.output
    fake_dns.cname("www.acme.test", "blog.sites.test")
    assert "www.acme.test  verified" in cli("site", "domains", "blog", "check", "www.acme.test").output
    missing = cli("site", "domains", "blog", "check", "shop.acme.test")
    assert missing.exit_code == 2 and "has no hostname shop.acme.test" in missing.output
