"""Tenant isolation, generated from the URL map: every console page, asked by tenant B for tenant A's objects, is 404.

A new console URL joins this test by itself; one whose parameters the test cannot fill fails it,
so nobody adds a page that escapes the check.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from poplist.lists.models import PendingRequest, Suppression
from poplist.lists.subscriptions import Origin, request_subscription, subscribe

# Paths that belong to the owners' console (per tenant): web's own and every domain's.
CONSOLE_PREFIXES = ("console/",)
# Data of tenant A that tenant B's pages must never show (URLs are echoed back, so not the address).
SECRET = "Zanzibar Secret"


def _walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def console_routes(only_web: bool = False) -> list[str]:
    routes = sorted(
        {
            route
            for route, entry in _walk(get_resolver().url_patterns)
            if not only_web or entry.callback.__module__.startswith("poplist.web.")
        }
    )
    return [r for r in routes if r.startswith(CONSOLE_PREFIXES)]


@pytest.fixture
def victim(mailing_list, tenant, owner):
    """Tenant A's list with one object of each kind a console URL can name."""
    from poplist.lists import import_jobs, services

    subscribe(mailing_list, "ann@example.org", name="Annabel Secret", origin=Origin(via="owner"), welcome=False)
    services.update_settings(mailing_list, {"subscription_policy": "moderate", "display_name": SECRET})
    request_subscription(mailing_list, "bob@example.org", origin=Origin(via="web"))
    services.suppress(mailing_list, "gone@example.org", Suppression.Reason.MANUAL)
    job = import_jobs.queue_import(mailing_list, b"cid@example.org\n", source="web:a.csv", actor="x")
    return {
        "address": mailing_list.address,
        "email": "ann@example.org",
        "request_id": PendingRequest.objects.get(email="bob@example.org").pk,
        "suppression_id": Suppression.objects.get(email="gone@example.org").pk,
        "job_id": job.pk,
    }


def fill(route: str, values: dict) -> str:
    import re

    def replace(match):
        name = match.group(2)
        if name in values:
            return str(values[name])
        if route in console_routes(only_web=True):
            pytest.fail(f"{route}: the isolation test does not know how to fill <{name}>; add it to `victim`")
        # Another domain's object: tenant B must get 404 whatever it names (its own tests name real ones).
        return "1" if match.group(1) == "int" else "x"

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)


def test_the_console_has_routes_to_check():
    routes = console_routes()
    assert "console/lists/<str:address>/members/" in routes
    assert len(routes) >= 12


@pytest.mark.parametrize("route", console_routes())
def test_tenant_b_gets_404_for_tenant_a_objects(route, victim, client, other_owner):
    client.force_login(other_owner)
    url = fill(route, victim)
    if "<" not in route or route in {"console/", "console/lists/", "console/new-list/"}:
        # Pages without an object of A: they must show none of A's data.
        response = client.get(url)
        assert SECRET.encode() not in body(response)
        return
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code in (404, 405), f"{method.upper()} {url}: {response.status_code}"
        content = body(response)
        assert SECRET.encode() not in content and b"Annabel" not in content


def test_tenant_a_owner_reaches_the_same_urls(victim, client, owner):
    """The check above means something: A's own owner gets the pages (not 404)."""
    client.force_login(owner)
    for route in console_routes(only_web=True):
        url = fill(route, victim)
        response = client.get(url)
        if "request_id" in route or "suppression_id" in route or route.endswith("remove/"):
            continue  # POST-only actions
        assert response.status_code in (200, 302, 405), f"GET {url}: {response.status_code}"


def test_private_archive_of_tenant_a_is_closed_to_tenant_b(client, make_list, other_owner, archived):
    private = make_list("board", archive_policy="private")
    archived("Secret", "x", msgid="<s@example.org>", target=private)
    client.force_login(other_owner)
    response = client.get(f"/lists/{private.address}/archive/")
    assert response.status_code == 302 and "/login/" in response["Location"]
