"""CSRF on every form (generated from the URL map) and the archive's sanitiser against XSS payloads."""

import re

import pytest
from django.test import Client
from tests.web.test_web_isolation import _walk, fill, victim  # noqa: F401  (victim is a fixture)

from poplist.web.sanitize import clean_html

# RFC 8058: mail clients POST List-Unsubscribe=One-Click without any cookie or token.
CSRF_EXEMPT = {"u/<str:token>/"}


def web_routes() -> list[str]:
    from django.urls import get_resolver

    routes = sorted({route for route, _e in _walk(get_resolver().url_patterns)})
    return [r for r in routes if not r.startswith(("api/", "admin/", "static/")) and r not in CSRF_EXEMPT]


@pytest.mark.parametrize("route", web_routes())
def test_every_post_without_csrf_token_is_refused(route, victim, owner):  # noqa: F811
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    values = {**victim, "token": "x", "permalink": "X", "slug": "acme", "year": 2026, "month": 11, "index": 0}
    try:
        url = fill(route, values)
    except pytest.fail.Exception:
        pytest.skip(f"{route}: a parameter this test cannot fill")
    response = client.post(url, {"email": "x@example.org", "decision": "approve"})
    assert response.status_code in (403, 405), f"POST {url} without a CSRF token: {response.status_code}"


def test_every_rendered_form_carries_a_csrf_token(owner_client, victim, mailing_list):  # noqa: F811
    pages = [
        "/console/",
        "/console/new-list/",
        f"/console/lists/{mailing_list.address}/",
        f"/console/lists/{mailing_list.address}/members/",
        f"/console/lists/{mailing_list.address}/members/ann@example.org/",
        f"/console/lists/{mailing_list.address}/members/import/",
        f"/console/lists/{mailing_list.address}/settings/",
        f"/console/lists/{mailing_list.address}/requests/",
        f"/console/lists/{mailing_list.address}/suppressions/",
        f"/lists/{mailing_list.address}/",
        f"/lists/{mailing_list.address}/preferences/",
    ]
    for url in pages:
        html = owner_client.get(url).content.decode()
        forms = re.findall(r"<form[^>]*method=\"post\"[^>]*>(.*?)</form>", html, flags=re.S | re.I)
        assert forms, url
        for form in forms:
            assert 'name="csrfmiddlewaretoken"' in form, f"{url}: a form without CSRF token"


# A corpus of classic payloads (OWASP XSS filter evasion cheat sheet, html5sec.org).
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "<body onload=alert(1)>",
    "<div style=\"background:url('javascript:alert(1)')\">x</div>",
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<form action=javascript:alert(1)><input type=submit>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "<base href=javascript:alert(1)//>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<style>@import 'http://evil.example/x.css';</style>",
    "<link rel=stylesheet href=http://evil.example/x.css>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<table background=javascript:alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<img src='http://tracker.example/pixel.gif'>",
    '<a href="http://example.org" target="_blank">ok</a>',
]
FORBIDDEN = re.compile(
    r"<script|<iframe|<object|<embed|<svg|<img|<style|<link|<meta|<base|<form|<input|\son\w+\s*=|javascript:|data:|style=",
    re.I,
)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_sanitiser_neutralises(payload):
    cleaned = clean_html(payload)
    assert not FORBIDDEN.search(cleaned), cleaned


def test_sanitised_links_cannot_reach_the_opener():
    assert 'rel="noopener noreferrer nofollow"' in clean_html('<a href="http://example.org">x</a>')


def test_archived_hostile_html_is_inert_on_the_page(client, mailing_list, archived):
    message = archived("Hostile", None, msgid="<xss@example.org>", html="<p>hello</p>" + "".join(PAYLOADS))
    page = client.get(f"/lists/{mailing_list.address}/archive/{message.permalink_id}/").content.decode()
    body = page.split('class="message-html">', 1)[1].split("</div>", 1)[0]
    assert "hello" in body and not FORBIDDEN.search(body), body


def test_subject_and_author_are_escaped(client, mailing_list, archived):
    message = archived(
        "<script>alert(1)</script>", "x", msgid="<s2@example.org>", author='"<img src=x>" <e@example.org>'
    )
    page = client.get(f"/lists/{mailing_list.address}/archive/{message.permalink_id}/").content.decode()
    assert "<script>alert(1)" not in page and "<img src=x>" not in page
