"""Members' own pages: one-click unsubscribe offering digest or pause, preferences by magic link, rate limits."""

import re

import pytest

from poplist.lists.models import Member
from poplist.lists.subscriptions import Origin, subscribe, unsubscribe_token
from poplist.testing.mail import body_of, queued


@pytest.fixture
def ann(mailing_list):
    return subscribe(mailing_list, "ann@example.org", origin=Origin(via="owner"), welcome=False) or Member.objects.get(
        email="ann@example.org", role="member"
    )


def csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_unsubscribe_page_offers_digest_and_pause(client, ann):
    token = unsubscribe_token(ann)
    page = client.get(f"/u/{token}/").content.decode()
    assert "Switch to a digest" in page and "Pause" in page
    client.post(f"/u/{token}/confirm/", {"choice": "digest"})
    ann.refresh_from_db()
    assert ann.delivery_mode == "mime_digest"
    client.post(f"/u/{token}/confirm/", {"choice": "pause"})
    ann.refresh_from_db()
    assert ann.delivery_mode == "nomail"
    done = client.post(f"/u/{token}/confirm/", {"choice": "leave"}).content.decode()
    assert "You have left the list" in done
    assert not Member.objects.filter(email="ann@example.org", role="member").exists()


def test_one_click_post_needs_no_csrf_and_is_idempotent(client, ann):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    token = unsubscribe_token(ann)
    for _ in range(2):
        response = strict.post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})
        assert response.status_code == 200
    assert not Member.objects.filter(email="ann@example.org", role="member").exists()


def test_preferences_by_magic_link(client, mailing_list, ann, settings):
    client.post(f"/lists/{mailing_list.address}/preferences/", {"email": "ann@example.org"})
    client.post(f"/lists/{mailing_list.address}/preferences/", {"email": "nobody@example.org"})
    [mail] = queued("preferences_link")
    assert mail["To"] == "ann@example.org"
    link = re.search(r"(https?://\S+/preferences/\S+/)", body_of(mail)).group(1).replace(settings.BASE_URL, "")
    page = client.get(link).content.decode()
    assert "ann@example.org" in page
    client.post(link, {"delivery_mode": "plain_digest", "display_name": "Ann A."})
    ann.refresh_from_db()
    assert (ann.delivery_mode, ann.display_name) == ("plain_digest", "Ann A.")
    client.post(link, {"leave": "1"})
    assert not Member.objects.filter(email="ann@example.org", role="member").exists()
    assert client.get(link.replace("/preferences/", "/preferences/x")).status_code == 400


def test_subscribe_form_is_rate_limited(client, mailing_list, monkeypatch):
    from poplist.web import public

    monkeypatch.setattr(public, "SUBSCRIBE_PER_IP", 3)
    url = f"/lists/{mailing_list.address}/"
    answers = [client.post(url, {"email": f"p{n}@example.org"}).status_code for n in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    assert len(queued("confirm_subscribe")) == 3


def test_public_page_shows_recent_archive(client, mailing_list, archived):
    archived("Welcome everyone", "hi", msgid="<w1@example.org>")
    page = client.get(f"/lists/{mailing_list.address}/").content.decode()
    assert "Welcome everyone" in page and "/archive/" in page
