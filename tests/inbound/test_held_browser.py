"""The moderation queue in a real browser (chromium through Playwright)."""

from __future__ import annotations

import pytest

from poplist.testing.fixtures_inbound import make_message
from poplist.testing.fixtures_web import OWNER_PASSWORD


@pytest.mark.browser
def test_owner_approves_a_held_post_in_the_browser(page, live_server, owner, mailing_list):
    from poplist.delivery.models import DeliveryJob
    from poplist.inbound.models import HeldMessage
    from poplist.inbound.receive import make_incoming, receive
    from poplist.inbound.routing import resolve

    receive(resolve(mailing_list.address), make_incoming("zed@example.net", make_message(sender="zed@example.net")))
    page.goto(f"{live_server.url}/login/")
    page.fill("input[type=email], input[name=username]", owner.email)
    page.fill("input[type=password]", OWNER_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/console/lists/{mailing_list.address}/held/")
    assert "zed@example.net is not a member of the list." in page.content()
    page.get_by_role("link", name="Hello").click()
    assert "Hi all," in page.locator("pre.message-text").inner_text()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"**/console/lists/{mailing_list.address}/held/")
    assert "1 message(s): approve." in page.content()
    assert HeldMessage.objects.get().state == "approved" and DeliveryJob.objects.count() == 1
