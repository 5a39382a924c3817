"""The owners' filters page (banned and accepted senders, header filters) in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from poplist.testing.fixtures_inbound import make_message
from poplist.testing.fixtures_web import OWNER_PASSWORD


def _post(mailing_list, sender: str, message_id: str, extra: str = "") -> str:
    from poplist.inbound.models import InboundMessage
    from poplist.inbound.receive import make_incoming, receive
    from poplist.inbound.routing import resolve

    raw = make_message(sender=sender, message_id=message_id, extra=extra)
    receive(resolve(mailing_list.address), make_incoming(sender, raw))
    return InboundMessage.objects.get(message_id=message_id).decision


@pytest.mark.browser
def test_owner_bans_accepts_and_filters_headers_in_the_browser(page, live_server, owner, mailing_list):
    from poplist.lists.subscriptions import subscribe

    subscribe(mailing_list, "ann@example.org", welcome=False)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[type=email], input[name=username]", owner.email)
    page.fill("input[type=password]", OWNER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/console/lists/{mailing_list.address}/held/")
    page.get_by_role("link", name="Filters").click()
    page.wait_for_url(f"**/console/lists/{mailing_list.address}/filters/")

    page.fill("#ban-pattern", "spammer@Example.NET")
    page.get_by_role("button", name="Ban").click()
    expect(page.locator("ul.messages")).to_contain_text("spammer@example.net added.")
    page.fill("#accept-pattern", r"^.*@partner\.example$")
    page.get_by_role("button", name="Accept").click()
    expect(page.locator("ul.messages")).to_contain_text(r"^.*@partner\.example$ added.")
    page.fill("#header-name", "X-Spam-Flag")
    page.fill("#header-pattern", "^yes")
    page.select_option("#header-action", "discard")
    page.get_by_role("button", name="Add the filter").click()
    expect(page.locator("ul.messages")).to_contain_text("Filter on X-Spam-Flag added.")
    page.fill("#header-name", "X-Bad")
    page.fill("#header-pattern", "(unclosed")
    page.get_by_role("button", name="Add the filter").click()
    expect(page.locator("ul.messages")).to_contain_text("(unclosed is not a valid pattern")  # a clear error

    # What the page set is what the pipeline does.
    assert _post(mailing_list, "spammer@example.net", "<p1@x>") == "discarded"
    assert _post(mailing_list, "bob@partner.example", "<p2@x>") == "accepted"  # a non-member, accepted
    assert _post(mailing_list, "ann@example.org", "<p3@x>", extra="X-Spam-Flag: YES") == "discarded"
    assert _post(mailing_list, "ann@example.org", "<p4@x>") == "accepted"

    page.get_by_role("button", name="Remove spammer@example.net").click()
    expect(page.locator("ul.messages")).to_contain_text("spammer@example.net removed.")
    page.get_by_role("button", name="Remove the filter X-Spam-Flag: ^yes").click()
    expect(page.locator("ul.messages")).to_contain_text("Header filter removed.")
    expect(page.locator("body")).to_contain_text("No header filter.")
    assert _post(mailing_list, "ann@example.org", "<p5@x>", extra="X-Spam-Flag: yes") == "accepted"


def test_the_filters_page_is_the_owners_own(client, owner, mailing_list, other_tenant):
    from poplist.accounts.services import create_user
    from poplist.inbound.filters import add_sender

    add_sender(mailing_list, "ban", "spammer@example.net")
    create_user("intruder@globex.test", tenant=other_tenant, password=OWNER_PASSWORD, name="In Truder")
    client.login(username="intruder@globex.test", password=OWNER_PASSWORD)
    url = f"/console/lists/{mailing_list.address}/filters/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"op": "remove_sender", "kind": "ban", "pattern": "spammer@example.net"}).status_code == 404
    client.logout()
    client.login(username=owner.email, password=OWNER_PASSWORD)
    page = client.get(url).content.decode()
    assert "spammer@example.net" in page and "csrfmiddlewaretoken" in page
