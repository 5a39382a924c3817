"""The owners' pages in a real chromium: upload a zip, see the history, roll back in one click."""

import io
import zipfile

import pytest

from poplist.testing.fixtures_web import CHROMIUM_ARGS, log_in

HOST = "blog.sites.test"
PASSWORD = "secret-pass-123"


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.fixture
def owner(tenant):
    from poplist.accounts.models import User

    return User.objects.create_user("owner@acme.test", PASSWORD, tenant=tenant)


def test_pages_are_the_owners_only(client, owner, other_tenant, sites_cache):
    from poplist.accounts.models import User
    from poplist.sites.services import create_site

    create_site(owner.tenant, "blog")
    create_site(other_tenant, "theirs")
    client.force_login(owner)
    assert 'href="/console/sites/"' in client.get("/console/").content.decode()  # the tab in the owner's menu
    listing = client.get("/console/sites/")
    assert "blog" in listing.content.decode() and "theirs" not in listing.content.decode()
    assert client.get("/console/sites/theirs/").status_code == 404
    assert client.post("/console/sites/theirs/rollback/1/").status_code == 404
    client.force_login(User.objects.create_user("x@globex.test", "pw-123456789", tenant=other_tenant))
    assert client.get("/console/sites/blog/").status_code == 404


@pytest.mark.browser
def test_upload_history_and_one_click_rollback(live_server, owner, tmp_path, sites_cache, monkeypatch):
    from playwright.sync_api import sync_playwright

    from poplist.sites.services import create_site
    from poplist.testing.fixtures_sites import SitesClient

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop lives in this thread
    create_site(owner.tenant, "blog")
    first, second, bad = tmp_path / "v1.zip", tmp_path / "v2.zip", tmp_path / "bad.zip"
    first.write_bytes(zip_of({"index.html": "version one"}))
    second.write_bytes(zip_of({"index.html": "version two"}))
    bad.write_bytes(zip_of({"../escape.html": "x"}))
    visitors = SitesClient()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        log_in(page, live_server, password=PASSWORD)
        page.goto(f"{live_server.url}/console/sites/")
        page.click("text=blog")
        for archive in (first, second):
            page.set_input_files("#archive", str(archive))
            with page.expect_navigation():
                page.click("button:has-text('Publish')")
        assert "Deploy 2 is live." in page.inner_text("main")
        assert visitors.get(HOST, "/").text == "version two"
        page.set_input_files("#archive", str(bad))
        with page.expect_navigation():
            page.click("button:has-text('Publish')")
        assert "Nothing changed" in page.inner_text("main") and "outside the site" in page.inner_text("main")
        assert visitors.get(HOST, "/").text == "version two"
        with page.expect_navigation():
            page.click("tr[data-deploy='1'] >> text=Make live")
        assert "Deploy 1 is live again." in page.inner_text("main")
        assert "live" in page.inner_text("tr[data-deploy='1']")
        assert visitors.get(HOST, "/").text == "version one"
        browser.close()


@pytest.mark.browser
def test_owner_adds_a_domain_sees_it_pending_then_verified(live_server, owner, sites_cache, monkeypatch, fake_dns):
    from playwright.sync_api import sync_playwright

    from poplist.sites.services import create_site, deploy_files
    from poplist.testing.fixtures_sites import SitesClient

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    deploy_files(create_site(owner.tenant, "blog"), {"index.html": b"the blog"}, via="cli")
    visitors = SitesClient()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        log_in(page, live_server, password=PASSWORD)
        page.goto(f"{live_server.url}/console/sites/blog/")
        page.fill("#domain", "www.acme.test")
        with page.expect_navigation():
            page.click("button:has-text('Add')")
        domain = page.locator("[data-domain='www.acme.test']")
        assert "pending" in domain.inner_text() and "_poplist-challenge.www.acme.test" in domain.inner_text()
        token = domain.locator("code").nth(1).inner_text()
        assert visitors.get("www.acme.test", "/").status == 404
        fake_dns.txt("_poplist-challenge.www.acme.test", token)
        with page.expect_navigation():
            domain.locator("button:has-text('Check now')").click()
        assert "www.acme.test is verified" in page.inner_text("main")
        assert "verified" in page.inner_text("[data-domain='www.acme.test']")
        assert visitors.get("www.acme.test", "/").text == "the blog"
        browser.close()
