"""Errors are problem details (RFC 9457), in the caller's language, for every kind of failure."""

from __future__ import annotations

import pytest
from api_fixtures import ApiClient, assert_problem, new_token

from poplist.api import ratelimit
from poplist.api.api import api

pytest_plugins = ["api_fixtures"]
pytestmark = pytest.mark.django_db


def test_no_token_or_a_wrong_one_is_401_with_a_bearer_challenge(anonymous, tenant):
    answer = assert_problem(anonymous.get("/lists"), 401, "unauthenticated")
    assert "Bearer" in answer["detail"]
    assert anonymous.get("/lists")["WWW-Authenticate"].startswith("Bearer")
    assert_problem(anonymous.get("/lists", token="pl_forged"), 401)


def test_unknown_addresses_and_methods(acme):
    assert_problem(acme.get("/no/such/thing"), 404, "not_found")
    assert_problem(acme.get("/api/v1/"), 404)
    wrong = assert_problem(acme.call("PUT", "/lists"), 405, "method_not_allowed")
    assert "PUT" in wrong["detail"]
    assert set(acme.call("PUT", "/lists")["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_bad_json_and_wrong_types(acme, mailing_list):
    broken = acme.call("POST", "/lists", json=None, data="{not json", content_type="application/json")
    assert broken.status_code in (400, 422)
    assert broken["Content-Type"].startswith("application/problem+json")
    typed = assert_problem(acme.patch("/lists/news@lists.acme.test", {"max_recipients": "many"}), 422)
    assert typed["errors"][0] == {
        "field": "body.max_recipients",
        "message": "Expected a whole number.",
        "type": "int_parsing",
    }


def test_nul_characters_are_refused_wherever_they_hide(acme, mailing_list):
    assert_problem(acme.post("/tokens", {"name": "a\x00b"}), 400, "invalid")
    assert_problem(acme.get("/lists/news%00@lists.acme.test"), 400)
    assert_problem(acme.get("/lists/news@lists.acme.test/members?q=a%00"), 400)
    kept = acme.post("/tokens", {"name": "a\\u0000 is how JSON writes NUL"})  # an escaped backslash: plain text
    assert kept.status_code == 201 and kept.data["name"] == "a\\u0000 is how JSON writes NUL"


def test_a_body_too_large_is_413(acme, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    assert_problem(acme.post("/tokens", {"name": "x" * 2000}), 413)


def test_errors_speak_french_when_asked(tenant, mailing_list):
    french = ApiClient(new_token(tenant), language="fr-FR,fr;q=0.9,en;q=0.5")
    missing = assert_problem(french.get("/lists/none@lists.acme.test"), 404)
    assert missing["title"] == "Introuvable"
    assert missing["detail"] == "Il n’y a pas de liste none@lists.acme.test."
    invalid = assert_problem(french.post("/lists/news@lists.acme.test/members", {}), 422)
    assert invalid["errors"][0]["message"] == "Ce champ est obligatoire."
    assert assert_problem(french.get("/nothing"), 404)["detail"] == "Il n’y a rien à cette adresse."
    anonymous_fr = ApiClient(language="fr")
    assert "jeton" in assert_problem(anonymous_fr.get("/lists"), 401)["detail"]


def test_rate_limit_answers_429_with_retry_after(tenant, monkeypatch):
    clock = [1000.0]
    throttle = api.throttle[0]
    monkeypatch.setattr(throttle, "bucket", ratelimit.TokenBucket(rate=0.5, capacity=3, clock=lambda: clock[0]))
    client = ApiClient(new_token(tenant))
    assert [client.get("/lists").status_code for _ in range(3)] == [200, 200, 200]
    limited = assert_problem(client.get("/lists"), 429, "rate_limited")
    assert client.get("/lists")["Retry-After"] == "2"
    assert "2" in limited["detail"]
    other = ApiClient(new_token(tenant))
    assert other.get("/lists").status_code == 200  # each token has its own bucket
    clock[0] += 2
    assert client.get("/lists").status_code == 200


def test_token_bucket_refills_at_its_rate():
    clock = [0.0]
    bucket = ratelimit.TokenBucket(rate=10, capacity=2, clock=lambda: clock[0])
    assert [bucket.take("t") for _ in range(3)] == [0, 0, pytest.approx(0.1)]
    clock[0] += 0.1
    assert bucket.take("t") == 0
    assert bucket.take("t") == pytest.approx(0.1)


def test_server_errors_are_problems_too(acme, monkeypatch, mailing_list):
    from poplist.lists import queries

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(queries, "list_summary", broken)
    answer = assert_problem(acme.get("/lists/news@lists.acme.test"), 500, "server_error")
    assert "bug" not in answer["detail"]
