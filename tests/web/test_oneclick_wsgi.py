"""The WSGI layer that answers RFC 8058 one-click POSTs before Django, and hands everything else on."""

import io

import pytest
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from poplist.lists import subscriptions
from poplist.lists.models import Member, MemberEvent
from poplist.lists.subscriptions import Origin
from poplist.web.oneclick_wsgi import wrap


@pytest.fixture
def app():
    # As Django's test client does: the handler must not close the test's connection after each request.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield wrap(get_wsgi_application())
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def ann(mailing_list):
    return subscriptions.subscribe(mailing_list, "ann@example.org", origin=Origin(via="owner"), welcome=False)


def call(app, path, body=b"List-Unsubscribe=One-Click", *, method="POST", content_type=None):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SCRIPT_NAME": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "203.0.113.5",
        "CONTENT_TYPE": content_type or "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
    }
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    chunks = app(environ, start_response)
    answer["body"] = b"".join(chunks).decode()
    getattr(chunks, "close", lambda: None)()
    return answer


def test_one_click_post_is_answered_and_recorded(app, ann):
    path = f"/u/{subscriptions.unsubscribe_token(ann)}/"
    answer = call(app, path)
    assert (answer["status"], answer["body"]) == (200, "unsubscribed\n")
    assert not Member.objects.filter(pk=ann.pk).exists()
    assert MemberEvent.objects.get(action="unsubscribed").ip == "203.0.113.5"
    assert call(app, path)["status"] == 200  # idempotent


def test_everything_else_goes_on_to_django(app, ann):
    token = subscriptions.unsubscribe_token(ann)
    wrong_body = call(app, f"/u/{token}/", b"List-Unsubscribe=Please")
    assert wrong_body["status"] == 400 and "one-click" in wrong_body["body"]
    forged = call(app, f"/u/{token[:-3]}xyz/")
    assert forged["status"] == 400 and "not valid" in forged["body"]
    page = call(app, f"/u/{token}/", b"", method="GET")
    assert page["status"] == 200 and "ann@example.org" in page["body"]  # the page asks; it does not act
    assert Member.objects.filter(pk=ann.pk).exists()
    # A multipart one-click (some mail clients) is Django's view's to answer, with the same outcome.
    boundary = "xYzZY"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{boundary}--\r\n"
    )
    multipart = call(app, f"/u/{token}/", body.encode(), content_type=f"multipart/form-data; boundary={boundary}")
    assert multipart["status"] == 200
    assert not Member.objects.filter(pk=ann.pk).exists()
