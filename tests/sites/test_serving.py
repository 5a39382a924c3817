"""Serving by Host header through the real WSGI dispatcher: files, clean URLs, validators, ranges, encodings, rules."""

import gzip
import shutil

import brotli
import pytest

HOST = "blog.sites.test"
PAGE = "<html><body>" + "Hello, visitor! " * 200 + "</body></html>"


@pytest.fixture
def live(deploy):
    return deploy(
        {
            "index.html": PAGE,
            "about.html": "<h1>About</h1>",
            "docs/index.html": "<h1>Docs</h1>",
            "style.css": "body { color: red; }\n" * 50,
            "data.bin": bytes(range(256)) * 4,
            "404.html": "<h1>Lost?</h1>",
            "café/menu.txt": "crêpes",
        }
    )


def test_index_clean_urls_and_content_types(live, sites_client):
    home = sites_client.get(HOST, "/")
    assert home.status == 200 and home.text == PAGE
    assert home.headers["content-type"] == "text/html; charset=utf-8"
    assert sites_client.get(HOST, "/about").text == "<h1>About</h1>"
    assert sites_client.get(HOST + ":8000", "/about.html").text == "<h1>About</h1>"
    assert sites_client.get(HOST, "/docs/").text == "<h1>Docs</h1>"
    folder = sites_client.get(HOST, "/docs")
    assert folder.status == 301 and folder.headers["location"] == "/docs/"
    assert sites_client.get(HOST, "/style.css").headers["content-type"] == "text/css; charset=utf-8"
    assert sites_client.get(HOST, "/data.bin").headers["content-type"] == "application/octet-stream"
    menu = sites_client.get(HOST, "/caf%C3%A9/menu.txt")
    assert menu.status == 200 and menu.text == "crêpes"


def test_the_sites_own_404_and_traversal(live, sites_client):
    missing = sites_client.get(HOST, "/nope")
    assert missing.status == 404 and missing.text == "<h1>Lost?</h1>"
    for path in ("/../../etc/passwd", "/docs/../../x", "/%2e%2e/secret", "/_redirects"):
        assert sites_client.get(HOST, path).status == 404


def test_head_etag_and_last_modified(live, sites_client):
    full = sites_client.get(HOST, "/about")
    head = sites_client.request("HEAD", HOST, "/about")
    assert head.status == 200 and head.body == b"" and head.headers["content-length"] == str(len(full.body))
    assert sites_client.get(HOST, "/about", if_none_match=full.headers["etag"]).status == 304
    assert sites_client.get(HOST, "/about", if_none_match='"other"').status == 200
    assert sites_client.get(HOST, "/about", if_modified_since=full.headers["last-modified"]).status == 304
    assert sites_client.get(HOST, "/about", if_modified_since="Mon, 01 Jan 1990 00:00:00 GMT").status == 200
    assert sites_client.request("POST", HOST, "/about").status == 405


def test_ranges(live, sites_client):
    part = sites_client.get(HOST, "/data.bin", range="bytes=10-19")
    assert part.status == 206 and part.body == bytes(range(10, 20))
    assert part.headers["content-range"] == "bytes 10-19/1024"
    assert sites_client.get(HOST, "/data.bin", range="bytes=-4").body == bytes(range(252, 256))
    assert sites_client.get(HOST, "/data.bin", range="bytes=1020-").body == bytes(range(252, 256))
    beyond = sites_client.get(HOST, "/data.bin", range="bytes=5000-")
    assert beyond.status == 416 and beyond.headers["content-range"] == "bytes */1024"
    stale = sites_client.get(HOST, "/data.bin", range="bytes=0-1", if_range='"stale"')
    assert stale.status == 200 and len(stale.body) == 1024


def test_precompressed_variants_chosen_by_accept_encoding(live, sites_client):
    plain = sites_client.get(HOST, "/")
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
    gz = sites_client.get(HOST, "/", accept_encoding="gzip")
    assert gz.headers["content-encoding"] == "gzip" and gzip.decompress(gz.body).decode() == PAGE
    br = sites_client.get(HOST, "/", accept_encoding="gzip, deflate, br")
    assert br.headers["content-encoding"] == "br" and brotli.decompress(br.body).decode() == PAGE
    assert len(br.body) < len(PAGE) / 10
    assert sites_client.get(HOST, "/", accept_encoding="br;q=0, gzip").headers["content-encoding"] == "gzip"
    assert br.headers["etag"] != plain.headers["etag"]
    # An image is not compressed again.
    assert "vary" not in sites_client.get(HOST, "/data.bin", accept_encoding="br").headers


def test_redirects_and_headers_files(deploy, sites_client):
    deploy(
        {
            "index.html": "home",
            "blog/post.html": "post",
            "app/index.html": "app shell",
            "old.html": "shadowed file",
            "_redirects": "# moves\n/gone /new 301\n/news/:year/:slug /blog/:slug 302\n/docs/* https://docs.example.org/:splat\n"
            "/app/* /app/index.html 200\n/old.html /forced 301!\n",
            "_headers": "/*\n  X-Frame-Options: DENY\n/blog/*\n  Cache-Control: max-age=600\n  X-Robots-Tag: noindex\n",
        }
    )
    moved = sites_client.get(HOST, "/gone?x=1")
    assert moved.status == 301 and moved.headers["location"] == "/new?x=1"
    news = sites_client.get(HOST, "/news/2024/post")
    assert news.status == 302 and news.headers["location"] == "/blog/post"
    assert sites_client.get(HOST, "/docs/a/b").headers["location"] == "https://docs.example.org/a/b"
    rewritten = sites_client.get(HOST, "/app/settings/profile")
    assert rewritten.status == 200 and rewritten.text == "app shell"
    assert sites_client.get(HOST, "/old.html").headers["location"] == "/forced"
    post = sites_client.get(HOST, "/blog/post")
    assert post.headers["cache-control"] == "max-age=600" and post.headers["x-robots-tag"] == "noindex"
    assert post.headers["x-frame-options"] == "DENY"
    assert sites_client.get(HOST, "/").headers["x-frame-options"] == "DENY"


def test_unknown_hosts_never_show_another_site(live, sites_client):
    nobody = sites_client.get("nobody.sites.test", "/")
    assert nobody.status == 404 and "No site here" in nobody.text and PAGE not in nobody.text
    assert sites_client.get("poplist.example.org", "/").status == 299  # the host's own pages (Django)


def test_suspended_tenant_gets_the_notice_page_and_keeps_its_content(live, tenant, sites_client):
    from poplist.accounts.services import set_tenant_status

    set_tenant_status(tenant, "suspended", "unpaid")
    closed = sites_client.get(HOST, "/", accept_language="fr-FR,fr;q=0.9")
    assert closed.status == 503 and PAGE not in closed.text and "Ce site est indisponible" in closed.text
    set_tenant_status(tenant, "active")
    assert sites_client.get(HOST, "/").text == PAGE


def test_custom_domain_and_nothing_deployed_yet(site, sites_client, deploy):
    from poplist.sites.services import add_hostname

    add_hostname(site, "www.Example.ORG", verified=True)
    assert sites_client.get("www.example.org", "/").status == 404
    deploy({"index.html": "hi"})
    assert sites_client.get("WWW.example.org.", "/").text == "hi"


def test_the_disk_cache_is_rebuilt_when_wiped(live, sites_client, sites_cache):
    assert sites_client.get(HOST, "/about").status == 200
    shutil.rmtree(sites_cache / "sites")
    assert sites_client.get(HOST, "/about").text == "<h1>About</h1>"
    fresh = type(sites_client)()
    shutil.rmtree(sites_cache / "sites", ignore_errors=True)
    assert fresh.get(HOST, "/style.css").status == 200  # not in memory: read again from a rebuilt cache
    assert fresh.get(HOST, "/").text == PAGE


def test_a_change_on_this_machine_is_seen_at_the_next_request_without_a_poll(live, deploy, sites_client):
    """The generation counter is read through a shared mapping of its file: no stat, no database poll."""
    from poplist.sites import cache

    cache.touch_generation()
    assert sites_client.get(HOST, "/").text == PAGE  # maps the file written above
    server = sites_client.server
    server.next_poll = float("inf")  # no database poll (nor stat of the file) from here on
    deploy({"index.html": "version two"})  # (the test's transaction never commits: touched by hand below)
    assert _raw_get(server, "/") == PAGE.encode()  # the hostname map still holds the old deploy
    cache.touch_generation()  # what the deploying process does after its commit
    assert _raw_get(server, "/") == b"version two"


def _raw_get(server, path: str) -> bytes:
    """A request straight to the server, without the test client's reset of the poll."""
    import io

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_HOST": HOST, "wsgi.input": io.BytesIO()}
    return b"".join(server(environ, lambda status, headers, exc_info=None: None))
