"""The moderation queue in the owners' console and the REST API: safe rendering, decisions, tenants apart."""

from __future__ import annotations

import pytest

from poplist.testing.fixtures_inbound import make_message


def hold(mailing_list, raw: bytes, mail_from: str = "zed@example.net"):
    """Run a message through the real pipeline (the server's own function) and return what was held."""
    from poplist.inbound.models import HeldMessage
    from poplist.inbound.receive import make_incoming, receive
    from poplist.inbound.routing import resolve

    receive(resolve(mailing_list.address), make_incoming(mail_from, raw))
    return HeldMessage.objects.filter(mailing_list=mailing_list).order_by("-pk").first()


HTML_POST = (
    b"From: Zed <zed@example.net>\r\nTo: news@lists.acme.test\r\nSubject: Pictures\r\nMessage-ID: <h@x>\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
    b"Content-Type: text/html\r\n\r\n<p>Look <img src='http://tracker.example/pixel.gif'>"
    b"<script>alert(1)</script><a href='javascript:alert(2)'>here</a></p>\r\n"
    b'--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="cv.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n"
)


def test_held_page_shows_html_only_sanitised_and_lists_attachments(owner_client, mailing_list):
    item = hold(mailing_list, HTML_POST)
    listing = owner_client.get(f"/console/lists/{mailing_list.address}/held/").content.decode()
    assert "Pictures" in listing and "zed@example.net is not a member of the list." in listing
    page = owner_client.get(f"/console/lists/{mailing_list.address}/held/{item.pk}/").content.decode()
    assert "Look" in page and "cv.pdf" in page and "application/pdf" in page
    assert "tracker.example" not in page and "<script>alert" not in page and "javascript:" not in page


def test_bulk_decisions_from_the_console(owner_client, mailing_list):
    from poplist.delivery.models import DeliveryJob
    from poplist.inbound.models import HeldMessage, SenderFilter
    from poplist.testing.mail import queued

    first = hold(mailing_list, make_message(sender="zed@example.net", message_id="<a@x>"))
    second = hold(mailing_list, make_message(sender="zed@example.net", message_id="<b@x>"))
    third = hold(mailing_list, make_message(sender="kim@example.net", message_id="<c@x>"), "kim@example.net")
    url = f"/console/lists/{mailing_list.address}/held/"
    answer = owner_client.post(url, {"ids": [first.pk, second.pk], "decision": "accept"}, follow=True)
    assert "2 message(s): accept." in answer.content.decode()
    assert DeliveryJob.objects.count() == 2
    assert SenderFilter.objects.filter(kind="accept", pattern="zed@example.net").exists()
    owner_client.post(url, {"ids": [third.pk], "decision": "reject", "reason": "Off topic"})
    assert HeldMessage.objects.get(pk=third.pk).state == "rejected"
    assert "Off topic" in queued("post_rejected", to="kim@example.net")[0].get_body().get_content()
    again = owner_client.post(url, {"ids": [third.pk], "decision": "discard"}, follow=True).content.decode()
    assert "handled already" in again


def test_another_tenants_held_messages_are_not_found(client, other_owner, mailing_list):
    item = hold(mailing_list, make_message(sender="zed@example.net"))
    client.force_login(other_owner)
    assert client.get(f"/console/lists/{mailing_list.address}/held/").status_code == 404
    assert (
        client.post(f"/console/lists/{mailing_list.address}/held/{item.pk}/", {"decision": "approve"}).status_code
        == 404
    )


def test_suspended_tenants_posts_wait_and_cannot_be_approved(owner_client, mailing_list):
    from poplist.accounts.services import set_tenant_status
    from poplist.delivery.models import DeliveryJob
    from poplist.lists.subscriptions import subscribe

    subscribe(mailing_list, "ann@example.org", welcome=False)
    set_tenant_status(mailing_list.tenant, "suspended", "unpaid")
    item = hold(mailing_list, make_message(), "ann@example.org")
    assert item.rule == "suspended"
    answer = owner_client.post(
        f"/console/lists/{mailing_list.address}/held/{item.pk}/", {"decision": "approve"}, follow=True
    )
    assert "suspended" in answer.content.decode()
    assert DeliveryJob.objects.count() == 0


@pytest.fixture
def api_token(tenant):
    from poplist.accounts.services import create_api_token

    _token, secret = create_api_token(tenant)
    return {"Authorization": f"Bearer {secret}"}


def test_api_lists_reads_and_decides_held_messages(client, api_token, mailing_list, other_tenant):
    from poplist.accounts.services import create_api_token
    from poplist.delivery.models import DeliveryJob

    item = hold(mailing_list, HTML_POST)
    base = f"/api/v1/lists/{mailing_list.address}/held"
    [row] = client.get(base, headers=api_token).json()
    assert row["id"] == item.pk and row["rule"] == "nonmember"
    detail = client.get(f"{base}/{item.pk}", headers=api_token).json()
    assert detail["attachments"] == [["cv.pdf", "application/pdf", 9]] and "<img" not in detail["html"]
    _token, other = create_api_token(other_tenant)
    assert client.get(base, headers={"Authorization": f"Bearer {other}"}).status_code == 404
    decided = client.post(
        f"{base}/{item.pk}", {"decision": "approve"}, content_type="application/json", headers=api_token
    )
    assert decided.status_code == 200 and decided.json()["state"] == "approved"
    assert DeliveryJob.objects.count() == 1
    again = client.post(
        f"{base}/{item.pk}", {"decision": "discard"}, content_type="application/json", headers=api_token
    )
    assert again.status_code == 409


def test_held_messages_expire_after_the_lists_delay_with_a_notice(mailing_list):
    from datetime import timedelta

    from django.utils import timezone

    from poplist.inbound.models import HeldMessage
    from poplist.inbound.moderation import expire_held
    from poplist.inbound.tasks import worker_tasks
    from poplist.testing.mail import queued

    item = hold(mailing_list, make_message(sender="zed@example.net"))
    assert expire_held() == 0
    assert expire_held(timezone.now() + timedelta(days=15)) == 1
    assert HeldMessage.objects.get(pk=item.pk).state == "expired"
    assert queued("held_expired", to="zed@example.net")
    assert "expire held messages" in [task.name for task in worker_tasks()]
