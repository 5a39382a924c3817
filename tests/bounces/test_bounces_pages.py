"""The owners' bounce page, the admins' rates page, and the member's re-enable link."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from email import message_from_bytes
from unittest import mock

import pytest
from django.utils import timezone

from poplist.bounces import services
from poplist.delivery.models import DeliveryDay, OutboundMessage
from poplist.testing.fixtures_bounces import dsn

# Playwright's sync API keeps an event loop running in the test thread for the whole session (the
# browser is session-scoped); the tests' own queries, and the database flush after them, are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def bounce(mailing_list, raw: bytes, message_id: int = 1) -> None:
    services.receive_bounce(mailing_list, raw, verp_token=None, envelope_from="", inbound_message_id=message_id)


def disable_alice(mailing_list) -> None:
    start = timezone.now()
    for day in range(2):
        with mock.patch("django.utils.timezone.now", return_value=start + timedelta(days=day)):
            bounce(mailing_list, dsn("alice@example.org"), message_id=100 + day)


@pytest.mark.django_db
def test_owner_sees_scores_steps_and_their_causes(owner_client, bounce_list):
    disable_alice(bounce_list)
    bounce(bounce_list, dsn("bob@example.org", "5.7.1", diagnostic="smtp; 550 5.7.1 rejected as spam"))
    response = owner_client.get("/console/lists/news@lists.acme.test/bounces/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "alice@example.org" in html and "disabled by bounces" in html
    assert "Disabled" in html and "message #101" in html  # the step and the bounce that caused it
    assert "rejected as spam" in html and "the provider refused the message, not the address" in html
    assert 'href="/console/lists/news@lists.acme.test/bounces/"' in html  # the console tab

    response = owner_client.post(
        "/console/lists/news@lists.acme.test/bounces/reenable/", {"email": "alice@example.org"}, follow=True
    )
    assert "Delivery to alice@example.org is on again." in response.content.decode()
    assert bounce_list.members.get(email="alice@example.org").status == "enabled"


@pytest.mark.django_db
def test_another_tenant_sees_nothing(client, other_owner, bounce_list):
    bounce(bounce_list, dsn("alice@example.org"))
    client.force_login(other_owner)
    response = client.get("/console/lists/news@lists.acme.test/bounces/")
    assert response.status_code == 404
    assert "alice@example.org" not in response.content.decode()


@pytest.mark.django_db
def test_admins_see_rates_per_tenant_and_sending_domain(client, host_admin, owner, bounce_list):
    DeliveryDay.objects.create(mailing_list=bounce_list, day=timezone.now().date(), sent=200)
    bounce(bounce_list, dsn("alice@example.org"))
    client.force_login(owner)
    assert client.get("/host/bounces/").status_code in (302, 403)
    client.force_login(host_admin)
    html = client.get("/host/bounces/").content.decode()
    assert "Per tenant" in html and "Per sending domain" in html
    assert re.search(r"<td>acme</td><td>200</td><td>1</td>.*?<td>0.50 %</td>", html, re.S)
    assert "<td>lists.acme.test</td>" in html


@pytest.mark.django_db
def test_reenable_link_asks_before_acting(client, bounce_list):
    disable_alice(bounce_list)
    notice = OutboundMessage.objects.get(kind="bounce_disabled")
    body = message_from_bytes(bytes(notice.raw)).get_payload(decode=True).decode()
    path = re.search(r"https?://[^/]+(/bounces/reenable/[^/\s]+/)", body).group(1)
    assert "Turn delivery back on" in client.get(path).content.decode()
    assert bounce_list.members.get(email="alice@example.org").status == "disabled"  # a GET changes nothing
    assert client.get("/bounces/reenable/forged-token/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_member_turns_delivery_back_on_in_a_browser(page, live_server, bounce_list):
    disable_alice(bounce_list)
    notice = OutboundMessage.objects.get(kind="bounce_disabled")
    body = message_from_bytes(bytes(notice.raw)).get_payload(decode=True).decode()
    path = re.search(r"https?://[^/]+(/bounces/reenable/[^/\s]+/)", body).group(1)
    page.goto(live_server.url + path)
    page.get_by_role("button", name="Turn delivery back on").click()
    page.get_by_text("Delivery to alice@example.org is on again.").wait_for()
    assert bounce_list.members.get(email="alice@example.org").status == "enabled"


@pytest.mark.django_db
def test_dashboard_plots_hard_and_soft_bounces_per_day(owner_client, bounce_list):
    def todays_bar() -> str:
        page = owner_client.get("/console/").content.decode()
        chart = page.split("Bounces per day", 1)[1].split("</svg>", 1)[0]
        return f"{timezone.now().date().isoformat()}: 1</title>" in chart

    assert not todays_bar()
    bounce(bounce_list, dsn("alice@example.org"))
    bounce(bounce_list, dsn("bob@example.org", "5.7.1", diagnostic="smtp; 550 5.7.1 rejected as spam"), 2)
    assert todays_bar()  # the hard bounce counts; the policy rejection is not a bounce of the address
