"""The public pages through a real HTTP server (pytest-django's live_server) and a real HTTP client."""

import re

import httpx
import pytest

from poplist.lists import subscriptions
from poplist.lists.models import Member
from poplist.lists.oneclick import send_departure_notices
from poplist.lists.subscriptions import Origin
from poplist.testing.mail import body_of, queued


def csrf_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


@pytest.fixture
def browser(live_server):
    with httpx.Client(base_url=live_server.url, follow_redirects=True, timeout=10) as client:
        yield client


def test_visitor_subscribes_and_confirms(browser, mailing_list, settings, live_server):
    settings.BASE_URL = live_server.url
    page = browser.get(f"/lists/{mailing_list.address}/")
    assert page.status_code == 200 and "News" in page.text and "Subscribe" in page.text

    done = browser.post(
        f"/lists/{mailing_list.address}/",
        data={"email": "ann@example.org", "name": "Ann", "csrfmiddlewaretoken": csrf_of(page.text)},
    )
    assert done.status_code == 200 and "Check your mailbox" in done.text

    [confirmation] = queued("confirm_subscribe")
    link = re.search(r"(http://\S+/confirm/[\w-]+/)", body_of(confirmation)).group(1)
    shown = browser.get(link)
    assert shown.status_code == 200 and "Confirm the subscription of ann@example.org" in shown.text
    assert not Member.objects.filter(role="member").exists()  # a link scanner's GET confirms nothing

    confirmed = browser.post(link, data={"csrfmiddlewaretoken": csrf_of(shown.text)})
    assert "your subscription is confirmed" in confirmed.text
    member = Member.objects.get(role="member")
    assert member.email == "ann@example.org" and member.joined_ip == "127.0.0.1"

    again = browser.post(link, data={"csrfmiddlewaretoken": csrf_of(shown.text)})
    assert again.status_code == 409 and "has been used already" in again.text


def test_invalid_address_shows_the_reason_and_queues_nothing(browser, mailing_list):
    page = browser.get(f"/lists/{mailing_list.address}/")
    answer = browser.post(
        f"/lists/{mailing_list.address}/", data={"email": "ann@", "csrfmiddlewaretoken": csrf_of(page.text)}
    )
    assert answer.status_code == 400 and "nothing after the @" in answer.text
    assert 'name="email"' in answer.text  # the form again, with the reason next to it
    assert queued() == []


def test_forms_refuse_requests_without_csrf_token(browser, mailing_list):
    answer = browser.post(f"/lists/{mailing_list.address}/", data={"email": "ann@example.org"})
    assert answer.status_code == 403
    assert queued() == []


def test_one_click_unsubscribe_needs_no_login_nor_csrf_and_is_idempotent(live_server, mailing_list):
    member = subscriptions.subscribe(mailing_list, "ann@example.org", origin=Origin())
    url = f"{live_server.url}/u/{subscriptions.unsubscribe_token(member)}/"
    for _ in range(2):
        answer = httpx.post(url, data={"List-Unsubscribe": "One-Click"})
        assert answer.status_code == 200
    assert not Member.objects.filter(role="member").exists()
    assert queued("goodbye") == []  # the worker writes it, out of the request
    assert send_departure_notices() == 1
    assert len(queued("goodbye")) == 1
    assert send_departure_notices() == 0
    assert httpx.post(url, data={"something": "else"}).status_code == 400


def test_unsubscribe_page_asks_in_the_list_language(browser, make_list):
    french = make_list("liste", language="fr")
    member = subscriptions.subscribe(french, "zoe@example.fr", origin=Origin())
    token = subscriptions.unsubscribe_token(member)
    page = browser.get(f"/u/{token}/")
    assert "Désinscrire zoe@example.fr de cette liste ?" in page.text
    assert Member.objects.filter(pk=member.pk).exists()  # the page asks; it does not act
    done = browser.post(f"/u/{token}/confirm/", data={"csrfmiddlewaretoken": csrf_of(page.text)})
    assert "Vous avez quitté la liste" in done.text
    assert not Member.objects.filter(pk=member.pk).exists()


def test_bad_links_get_a_clear_page_in_the_list_language(browser, make_list):
    french = make_list("liste", language="fr", subscription_policy="confirm")
    subscriptions.request_subscription(french, "zoe@example.fr", origin=Origin())
    token = re.search(r"/confirm/([\w-]+)/", body_of(queued("confirm_subscribe")[0])).group(1)
    from django.utils import timezone

    from poplist.lists.models import PendingRequest

    PendingRequest.objects.update(expires_at=timezone.now())
    expired = browser.get(f"/confirm/{token}/")
    assert expired.status_code == 400 and "Ce lien de confirmation a expiré" in expired.text

    forged = browser.get("/confirm/forged-token/")
    assert forged.status_code == 400 and "is not valid" in forged.text
    assert browser.get("/u/forged/").status_code == 400


def test_unknown_list_and_unknown_url_are_404_pages(browser, db):
    unknown = browser.get("/lists/nope@example.org/")
    assert unknown.status_code == 404 and "There is no list nope@example.org." in unknown.text
    nowhere = browser.get("/no/such/page")
    assert nowhere.status_code == 404 and "There is nothing at this address." in nowhere.text
    assert "Traceback" not in unknown.text + nowhere.text


def test_accept_language_picks_french_for_pages_without_a_list(db, live_server):
    answer = httpx.get(f"{live_server.url}/no/such/page", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert "Il n’y a rien à cette adresse." in answer.text
