"""pytest fixtures for the sites tests (a plugin listed in tests/conftest.py)."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def django_stub(environ, start_response):
    start_response("299 Django", [("Content-Type", "text/plain")])
    return [b"django"]


class SitesClient:
    """Calls the real WSGI dispatcher of wsgi.py (Django's app replaced by a stub that says so)."""

    def __init__(self) -> None:
        from poplist.sites.serving import SiteServer

        self.server = SiteServer(django_stub)

    def request(self, method: str, host: str, path: str = "/", **headers: str) -> Answer:
        from urllib.parse import unquote

        self.server.next_poll = 0  # as if a second had passed: see the database's latest generation
        path, _sep, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": unquote(path).encode("utf-8").decode("latin-1"),
            "QUERY_STRING": query,
            "HTTP_HOST": host,
            "SERVER_NAME": "test",
            "SERVER_PORT": "80",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
        }
        environ.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
        started = {}

        def start_response(status, response_headers, exc_info=None):
            started["status"] = int(status.split()[0])
            started["headers"] = {k.lower(): v for k, v in response_headers}

        body = b"".join(self.server(environ, start_response))
        return Answer(started["status"], started["headers"], body)

    def get(self, host: str, path: str = "/", **headers: str) -> Answer:
        return self.request("GET", host, path, **headers)


@pytest.fixture
def sites_cache(settings, tmp_path):
    """A disk cache of its own for each test."""
    settings.DATA_DIR = tmp_path / "data"
    settings.SITES_DOMAIN = "sites.test"
    return settings.DATA_DIR


@pytest.fixture
def site(tenant, sites_cache):
    from poplist.sites.services import create_site

    return create_site(tenant, "blog")


@pytest.fixture
def sites_client(sites_cache):
    return SitesClient()


@pytest.fixture
def write_tree(tmp_path):
    """Write {path: bytes|str} under a fresh folder and return it."""
    counter = iter(range(1000))

    def write(files: dict[str, bytes | str]) -> Path:
        root = tmp_path / f"tree{next(counter)}"
        root.mkdir()
        for name, content in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
        return root

    return write


@pytest.fixture
def deploy(site):
    """Deploy {path: content} to the `blog` site (the CLI's path: a folder read and checked)."""
    from poplist.sites.services import deploy_files

    def run(files: dict[str, bytes | str], target=None):
        data = {k: v.encode() if isinstance(v, str) else v for k, v in files.items()}
        return deploy_files(target or site, data, via="cli")

    return run


class FakeDns:
    """The DNS, which is outside the machine: records set by the test, questions counted."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], list[str]] = {}
        self.down = False
        self.questions: list[tuple[str, str]] = []

    def __call__(self, name: str, rtype: str) -> list[str]:
        from poplist.sites.domains import DnsError

        self.questions.append((name, rtype))
        if self.down:
            raise DnsError("Timeout")
        return list(self.records.get((name.lower(), rtype), []))

    def txt(self, name: str, *values: str) -> None:
        self.records[(name, "TXT")] = list(values)

    def cname(self, name: str, target: str) -> None:
        self.records[(name, "CNAME")] = [target]


@pytest.fixture
def fake_dns(monkeypatch):
    dns = FakeDns()
    monkeypatch.setattr("poplist.sites.domains.resolve", dns)
    return dns


@pytest.fixture
def sites_api(client, tenant, sites_cache, monkeypatch):
    """Call /api/v1/sites with a token of `tenant` (or another): call(method, path, body, raw=, token=)."""
    import json

    from poplist.accounts.services import create_api_token
    from poplist.api import ratelimit

    # Rate limiting is not under test here (and buckets outlive tests whose token ids repeat).
    monkeypatch.setattr(ratelimit.TokenBucket, "take", lambda self, key: 0)

    _token, secret = create_api_token(tenant, name="ci")

    def call(method: str, path: str, body=None, raw: bytes | None = None, token: str | None = None):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token or secret}"}
        if raw is not None:
            return getattr(client, method)(
                f"/api/v1/sites{path}", raw, content_type="application/octet-stream", **kwargs
            )
        if body is not None:
            return getattr(client, method)(
                f"/api/v1/sites{path}", json.dumps(body), content_type="application/json", **kwargs
            )
        return getattr(client, method)(f"/api/v1/sites{path}", **kwargs)

    return call
