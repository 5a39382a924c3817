"""`poplist sites nginx-config` run by the machine's real nginx answers like Poplist's own server."""

import time

import httpx
import pytest

from poplist.testing import nginx

pytestmark = pytest.mark.skipif(not nginx.available(), reason="nginx is not installed")

FILES = {
    "index.html": "<h1>Home</h1>" * 40,
    "about.html": "about",
    "docs/index.html": "docs",
    "style.css": "body{color:red}\n" * 40,
    "404.html": "lost",
    "app/index.html": "app shell",
    "_redirects": "/gone /new 301\n/news/:year/:slug /blog/:slug 302\n/app/* /app/index.html 200\n"
    "/about.html /moved 302!\n",
    "_headers": "/*\n  X-Frame-Options: DENY\n/docs/*\n  Cache-Control: max-age=600\n",
}
PATHS = [
    "/",
    "/about",
    "/docs",
    "/docs/",
    "/style.css",
    "/nope",
    "/gone?x=1",
    "/news/2024/hello",
    "/app/settings",
    "/about.html",
    "/_redirects",
]
IDENTITY = {"Host": "blog.sites.test", "Accept-Encoding": "identity"}
COMPARED = ["content-type", "location", "x-frame-options", "cache-control", "etag", "last-modified"]


def test_generated_config_serves_like_poplist(deploy, cli, sites_client, tmp_path, tenant):
    from poplist.sites.services import create_site

    deploy(FILES)
    create_site(tenant, "empty")
    port = nginx.free_port()
    result = cli("sites", "nginx-config", "--listen", f"127.0.0.1:{port}", "--upstream", "127.0.0.1:9")
    assert result.exit_code == 0, result.output
    with (
        nginx.run_nginx(tmp_path / "nginx", result.output),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=IDENTITY) as client,
    ):
        for _ in range(50):
            try:
                client.get("/")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        for path in PATHS:
            theirs = client.get(path, follow_redirects=False)
            ours = sites_client.get("blog.sites.test", path)
            assert (path, theirs.status_code) == (path, ours.status), theirs.text
            if ours.status not in (200, 404):
                assert theirs.headers["location"] == ours.headers["location"], path
                continue
            assert theirs.content == ours.body, path
            for header in COMPARED if ours.status == 200 else COMPARED[:-1]:  # nginx: no Last-Modified on 404
                assert theirs.headers.get(header) == ours.headers.get(header), (path, header)
        gz = client.get("/", headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip" and gz.text == FILES["index.html"]
        ranged = client.get("/style.css", headers={"Range": "bytes=0-3"})
        assert ranged.status_code == 206 and ranged.content == b"body"
        # Unknown hostnames and sites with nothing deployed go to Poplist (here: nothing listening, 502).
        assert client.get("/", headers={"Host": "nobody.example"}).status_code == 502
        assert client.get("/", headers={"Host": "empty.sites.test"}).status_code == 502


def test_the_worker_keeps_the_cache_and_the_nginx_file_current(deploy, site, tmp_path, monkeypatch, sites_cache):
    from poplist.sites.services import add_hostname, rollback
    from poplist.sites.tasks import CacheKeeper

    target = tmp_path / "sites.conf"
    target.write_text("# Written by `poplist sites nginx-config --upstream 127.0.0.1:9000 --listen 8080`; x\n")
    monkeypatch.setenv("POPLIST_SITES_NGINX_CONFIG", str(target))
    monkeypatch.setenv("POPLIST_SITES_NGINX_RELOAD", f"touch {tmp_path / 'reloaded'}")
    keeper = CacheKeeper()
    first = deploy({"index.html": "one"})
    deploy({"index.html": "two"})
    assert keeper() >= 1
    text = target.read_text()
    assert "server 127.0.0.1:9000;" in text and "listen 8080;" in text and "server_name blog.sites.test;" in text
    assert (tmp_path / "reloaded").exists()
    live = sites_cache / "sites" / "live" / "blog"
    assert (live / "index.html").read_text() == "two"
    assert keeper() == 0  # nothing changed
    (tmp_path / "reloaded").unlink()
    rollback(site, first.number)
    keeper()
    assert (live / "index.html").read_text() == "one"
    assert (tmp_path / "reloaded").exists()  # nginx's root is the deploy's own folder: a rollback reloads it
    (tmp_path / "reloaded").unlink()
    assert keeper() == 0 and not (tmp_path / "reloaded").exists()
    add_hostname(site, "www.acme.test")  # pending: not in the file (Poplist answers it with its 404)
    keeper()
    assert "www.acme.test" not in target.read_text()
    add_hostname(site, "shop.acme.test", verified=True)
    assert keeper() >= 1 and "server_name blog.sites.test shop.acme.test;" in target.read_text()
    assert (tmp_path / "reloaded").exists()


@pytest.mark.skipif(not nginx.BROTLI_MODULE.exists(), reason="libnginx-mod-http-brotli-static is not installed")
def test_with_brotli_nginx_serves_the_br_variants_made_at_deploy_time(deploy, cli, tmp_path):
    deploy(FILES)
    port = nginx.free_port()
    result = cli("sites", "nginx-config", "--listen", f"127.0.0.1:{port}", "--upstream", "127.0.0.1:9", "--brotli")
    assert "brotli_static on;" in result.output and "--brotli`" in result.output.splitlines()[0]
    with (
        nginx.run_nginx(tmp_path / "nginx", result.output, modules=(nginx.BROTLI_MODULE,)),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": "blog.sites.test"}) as client,
    ):
        for _ in range(50):
            try:
                client.get("/")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        for path, name in (("/", "index.html"), ("/style.css", "style.css")):
            answer = client.get(path, headers={"Accept-Encoding": "br"})
            assert answer.headers["content-encoding"] == "br", path
            assert answer.text == FILES[name]  # httpx decoded it with brotli
        assert "content-encoding" not in client.get("/about", headers={"Accept-Encoding": "br"}).headers  # too small


def test_the_worker_keeps_the_brotli_option(deploy, tmp_path, monkeypatch):
    from poplist.sites.tasks import CacheKeeper

    target = tmp_path / "sites.conf"
    target.write_text("# Written by `poplist sites nginx-config --upstream 127.0.0.1:9000 --listen 8080 --brotli`; x\n")
    monkeypatch.setenv("POPLIST_SITES_NGINX_CONFIG", str(target))
    monkeypatch.setenv("POPLIST_SITES_NGINX_RELOAD", "")
    deploy({"index.html": "one"})
    CacheKeeper()()
    assert "brotli_static on;" in target.read_text() and "listen 8080;" in target.read_text()


def _wait_for(client: httpx.Client, path: str, expected: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if client.get(path).text == expected:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{path} never served {expected!r}"
        time.sleep(0.05)


def test_nginx_serves_a_deploy_whole_until_the_reload_then_the_next_one_whole(
    deploy, site, tmp_path, monkeypatch, sites_cache
):
    """Each server block's root is its live deploy's folder, with open_file_cache: the old deploy's
    files and rules until the worker rewrites the file and reloads nginx, then the new ones, never stale."""
    from poplist.sites.services import rollback
    from poplist.sites.tasks import CacheKeeper

    prefix, target, port = tmp_path / "nginx", tmp_path / "sites.conf", nginx.free_port()
    flags = f"--upstream 127.0.0.1:9 --listen 127.0.0.1:{port}"
    target.write_text(f"# Written by `poplist sites nginx-config {flags}`; x\n")
    monkeypatch.setenv("POPLIST_SITES_NGINX_CONFIG", str(target))
    reload = f"{nginx.NGINX} -p {prefix} -c {prefix / 'nginx.conf'} -s reload"
    monkeypatch.setenv("POPLIST_SITES_NGINX_RELOAD", reload)
    keeper = CacheKeeper()
    first = deploy({"index.html": "one", "page.html": "page one", "_redirects": "/old /page 301\n"})
    keeper()
    assert "open_file_cache " in target.read_text()
    with (
        nginx.run_nginx(prefix, f"include {target};"),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": "blog.sites.test"}) as client,
    ):
        _wait_for(client, "/", "one")
        for _ in range(5):  # asked for more than once: now in nginx's open file cache
            assert client.get("/page").text == "page one"
        assert client.get("/old").headers["location"] == "/page"

        deploy({"index.html": "two", "page.html": "page two", "_redirects": "/old /new-page 301\n"})
        from poplist.sites.cache import sync_all

        sync_all()  # the live link moved, the new deploy is on disk: nginx does not look there
        assert [client.get(p).text for p in ("/", "/page")] == ["one", "page one"]
        assert client.get("/old").headers["location"] == "/page"  # the old deploy's rules with its files

        keeper()  # writes the file, reloads nginx
        _wait_for(client, "/", "two")
        assert [client.get(p).text for p in ("/", "/page")] == ["two", "page two"]  # no cached old file
        assert client.get("/old").headers["location"] == "/new-page"

        rollback(site, first.number)
        keeper()
        _wait_for(client, "/", "one")
        assert client.get("/page").text == "page one" and client.get("/old").headers["location"] == "/page"
