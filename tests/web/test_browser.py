"""The pages in a real chromium (Playwright, /usr/bin/chromium) against a live server.

Screenshots of the main pages go to tests/artifacts/ (not committed) to look at them.
Without chromium these tests skip loudly; in CI (CI=true) they fail.
"""

import re

import pytest

from poplist.delivery.services import send_queued
from poplist.delivery.transport import SimpleSMTPTransport, parse_relay
from poplist.lists.models import Member
from poplist.lists.subscriptions import Origin, subscribe, unsubscribe_url
from poplist.testing.fixtures_web import log_in
from poplist.testing.mail import body_of, parse

pytestmark = pytest.mark.browser


def relay_queued(sink) -> None:
    """What the worker does: send the queued notices, here to the test SMTP sink."""
    send_queued(SimpleSMTPTransport(parse_relay(sink.url)))


def test_visitor_subscribes_and_confirms_from_the_mail(page, live_server, mailing_list, smtp_sink, screenshot):
    page.goto(f"{live_server.url}/lists/{mailing_list.address}/")
    screenshot("list-public-page")
    page.fill("#id_email", "visitor@example.org")
    page.fill("#id_name", "Vera Visitor")
    page.click("form button[type=submit]")
    page.wait_for_selector("text=Check your mailbox")
    relay_queued(smtp_sink)
    [received] = [m for m in smtp_sink.messages if "visitor@example.org" in m.recipients]
    link = re.search(r"(http://\S+/confirm/[\w-]+/)", body_of(parse(received.data))).group(1)
    page.goto(link)
    screenshot("confirm-page")
    page.click("form button[type=submit]")
    page.wait_for_selector("text=your subscription is confirmed")
    assert Member.objects.get(email="visitor@example.org", role="member").display_name == "Vera Visitor"


def test_owner_imports_a_csv_and_watches_progress(page, live_server, owner, mailing_list, tmp_path, screenshot):
    rows = ["email,name"] + [f"person{n}@example.org,Person {n}" for n in range(40_000)] + ["not-an-address,Oops"]
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("\n".join(rows) + "\n")
    log_in(page, live_server)
    page.wait_for_selector("h1")
    page.goto(f"{live_server.url}/console/lists/{mailing_list.address}/members/import/")
    page.set_input_files("#id_file", str(csv_file))
    page.click("form button[type=submit]")
    page.wait_for_selector("#progress")
    screenshot("import-progress")
    page.wait_for_selector("text=Done: 40,000 added out of 40,001 rows.", timeout=120_000)
    assert page.inner_text("#rejections").count("not-an-address") == 1
    screenshot("import-done")
    page.goto(f"{live_server.url}/console/lists/{mailing_list.address}/members/")
    assert "person0@example.org" in page.inner_text("#members")
    page.click("a[rel=next]")
    page.wait_for_selector("a:has-text('Previous')")
    screenshot("members-page-2")
    page.fill("#q", "person3999")
    page.click("form[role=search] button")
    page.wait_for_selector("text=person39990@example.org")
    screenshot("members-search")
    page.goto(f"{live_server.url}/console/")
    screenshot("dashboard")
    page.goto(f"{live_server.url}/console/lists/{mailing_list.address}/settings/")
    screenshot("settings")


def test_owner_reads_and_searches_the_archive(page, live_server, owner, mailing_list, archived, screenshot):
    first = archived(
        "Garden party on Saturday", "Bring lemonade and a chair.\nWrite to ann@example.org.", msgid="<g1@example.org>"
    )
    archived(
        "Re: Garden party on Saturday",
        "I'll bring the chairs!",
        msgid="<g2@example.org>",
        reply_to="<g1@example.org>",
        author="Bob <bob@example.org>",
    )
    archived(
        "Budget",
        "The treasurer's report is attached.",
        msgid="<g3@example.org>",
        attachment=("report.pdf", b"%PDF-1.4"),
    )
    log_in(page, live_server)
    page.wait_for_selector("h1")
    page.goto(f"{live_server.url}/lists/{mailing_list.address}/archive/")
    screenshot("archive-index")
    page.click("text=Garden party on Saturday >> nth=0")
    page.wait_for_selector("text=Re: Garden party on Saturday")
    screenshot("archive-thread")
    page.goto(f"{live_server.url}/lists/{mailing_list.address}/archive/{first.permalink_id}/")
    page.wait_for_selector("text=Bring lemonade")
    screenshot("archive-message")
    page.fill("input[type=search]", "lemonade")
    page.click("form[role=search] button")
    page.wait_for_selector("li.result")
    assert "Garden party on Saturday" in page.inner_text("main") and "Budget" not in page.inner_text("ol.thread")
    screenshot("archive-search")


def test_member_unsubscribes_in_one_click(page, live_server, mailing_list, screenshot, settings):
    subscribe(mailing_list, "leaver@example.org", origin=Origin(via="owner"), welcome=False)
    member = Member.objects.get(email="leaver@example.org", role="member")
    page.goto(unsubscribe_url(member))
    screenshot("unsubscribe-page")
    page.click("button[value=leave]")
    page.wait_for_selector("text=You have left the list")
    assert not Member.objects.filter(email="leaver@example.org", role="member").exists()


def test_one_click_post_from_a_mail_client(page, live_server, mailing_list):
    subscribe(mailing_list, "quick@example.org", origin=Origin(via="owner"), welcome=False)
    member = Member.objects.get(email="quick@example.org", role="member")
    response = page.request.post(unsubscribe_url(member), form={"List-Unsubscribe": "One-Click"})
    assert response.status == 200
    assert not Member.objects.filter(email="quick@example.org", role="member").exists()


def test_french_console_and_host_admin(page, live_server, owner, host_admin, mailing_list, screenshot):
    log_in(page, live_server)
    page.wait_for_selector("h1")
    page.click("button[value=fr]")
    page.wait_for_selector("html[lang=fr]")
    page.goto(f"{live_server.url}/console/lists/{mailing_list.address}/members/")
    screenshot("members-fr")
    assert "Se déconnecter" in page.inner_text("header")
    page.click("form[action='/logout/'] button")
    log_in(page, live_server, "admin@host.test")
    page.goto(f"{live_server.url}/host/tenants/")
    screenshot("admin-tenants")
    page.goto(f"{live_server.url}/host/tenants/acme/")
    page.fill("#reason", "unpaid invoice")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[value=suspend]")
    page.wait_for_selector("text=is suspended")
    screenshot("admin-tenant-suspended")


def test_phone_sized_screen(page, live_server, mailing_list, screenshot):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server.url}/lists/{mailing_list.address}/")
    screenshot("list-public-page-phone")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
