"""Deploying through the REST API: manifest, missing blobs only, upload, finalise; tenants kept apart."""

import hashlib

import pytest

HOST = "blog.sites.test"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def api(sites_api):
    return sites_api


def deploy_by_api(api, files: dict[str, bytes]) -> tuple[int, list[str]]:
    started = api("post", "/blog/deploys", {"files": {p: sha(d) for p, d in files.items()}})
    assert started.status_code == 201, started.content
    number, missing = started.json()["deploy"], started.json()["missing"]
    by_sha = {sha(d): d for d in files.values()}
    for digest in missing:
        put = api("put", f"/blog/deploys/{number}/blobs/{digest}", raw=by_sha[digest])
        assert put.status_code == 200, put.content
    done = api("post", f"/blog/deploys/{number}/finalise", {})
    assert done.status_code == 200, done.content
    return number, missing


def test_deploy_redeploy_uploads_only_what_changed_and_rollback(api, sites_client):
    created = api("post", "/", {"name": "blog", "domains": ["www.acme.test"]})
    assert created.status_code == 201 and created.json()["hostnames"] == ["blog.sites.test", "www.acme.test"]
    files = {f"p/{i}.html": f"page {i}".encode() for i in range(300)} | {"index.html": b"v1"}
    number, missing = deploy_by_api(api, files)
    assert number == 1 and len(missing) == 301
    assert sites_client.get(HOST, "/p/42").text == "page 42"

    number, missing = deploy_by_api(api, {**files, "index.html": b"v2"})
    assert number == 2 and missing == [sha(b"v2")]
    assert sites_client.get(HOST, "/").text == "v2"

    history = api("get", "/blog/deploys").json()
    assert [(d["number"], d["live"], d["files"]) for d in history] == [(2, True, 301), (1, False, 301)]
    assert api("post", "/blog/rollback", {}).json()["number"] == 1
    assert sites_client.get(HOST, "/").text == "v1"


def test_bad_uploads_leave_the_live_deploy(api, sites_client):
    api("post", "/", {"name": "blog"})
    deploy_by_api(api, {"index.html": b"live"})
    started = api("post", "/blog/deploys", {"files": {"index.html": sha(b"new"), "x.html": sha(b"x")}}).json()
    number = started["deploy"]
    wrong = api("put", f"/blog/deploys/{number}/blobs/{sha(b'new')}", raw=b"not the same bytes")
    assert wrong.status_code == 400 and "sha256" in wrong.json()["detail"]
    api("put", f"/blog/deploys/{number}/blobs/{sha(b'new')}", raw=b"new")
    early = api("post", f"/blog/deploys/{number}/finalise", {})
    assert early.status_code == 409 and "1 files are still missing" in early.json()["detail"]
    assert sites_client.get(HOST, "/").text == "live"
    for path in ("../x", "/etc/passwd", "a/../../b"):
        bad = api("post", "/blog/deploys", {"files": {path: sha(b"x")}})
        assert bad.status_code == 400, path
    assert api("post", "/blog/deploys", {"files": {"a": "nothex"}}).status_code == 400
    broken = {"index.html": b"new", "_redirects": b"/a /b\n/c\n"}
    started = api("post", "/blog/deploys", {"files": {p: sha(d) for p, d in broken.items()}}).json()
    for digest in started["missing"]:
        data = next(d for d in broken.values() if sha(d) == digest)
        api("put", f"/blog/deploys/{started['deploy']}/blobs/{digest}", raw=data)
    refused = api("post", f"/blog/deploys/{started['deploy']}/finalise", {})
    assert refused.status_code == 400 and "line 2" in refused.json()["detail"]
    assert sites_client.get(HOST, "/").text == "live"


def test_another_tenant_gets_404_and_hostnames_stay_unique(api, other_tenant):
    from django.utils import timezone

    from poplist.accounts.services import create_api_token
    from poplist.sites.models import Hostname

    api("post", "/", {"name": "blog", "domains": ["www.acme.test"]})
    Hostname.objects.filter(name="www.acme.test").update(verified_at=timezone.now())  # proven (see test_domains)
    _token, theirs = create_api_token(other_tenant)
    assert api("get", "/blog", token=theirs).status_code == 404
    assert api("post", "/blog/deploys", {"files": {"a": sha(b"a")}}, token=theirs).status_code == 404
    assert api("post", "/blog/rollback", {}, token=theirs).status_code == 404
    assert api("get", "/", token=theirs).json() == []
    api("post", "/", {"name": "globex"}, token=theirs)
    taken = api("post", "/globex/domains/www.acme.test", token=theirs)
    assert taken.status_code == 409 and "already used" in taken.json()["detail"]


def test_tls_check_for_caddy(client, site):
    assert client.get("/api/v1/sites/tls-check?domain=blog.sites.test").status_code == 200
    assert client.get("/api/v1/sites/tls-check?domain=evil.example").status_code == 404
    assert client.get("/api/v1/sites/tls-check?domain=..").status_code == 404
