"""A site through the real `poplist serve` (granian, by Host header), deployed and rolled back with the CLI."""

import subprocess
import sys
import time

import httpx
import pytest

from conftest import ROOT, child_env, free_port


def wait_for(url: str, host: str, expected: str, process: subprocess.Popen, timeout: float = 30) -> httpx.Response:
    deadline = time.monotonic() + timeout
    answer = None
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited"
        try:
            answer = httpx.get(url, headers={"Host": host}, timeout=2)
            if expected in answer.text:
                return answer
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never showed {expected!r}: {answer and answer.text[:200]}")


@pytest.mark.slow
def test_deploy_and_rollback_seen_through_poplist_serve(run_poplist, tmp_path):
    env = {"POPLIST_SITES_DOMAIN": "sites.test"}
    assert run_poplist("tenant", "create", "acme", "--name", "Acme", env=env).returncode == 0
    assert (
        run_poplist(
            "site", "create", "blog", "--tenant", "acme", "--domain", "www.acme.test", "--verified", env=env
        ).returncode
        == 0
    )
    for version in ("one", "two"):
        folder = tmp_path / version
        (folder / "docs").mkdir(parents=True)
        (folder / "index.html").write_text(f"<h1>version {version}</h1>" * 30)
        (folder / "docs" / "index.html").write_text("docs")
        deployed = run_poplist("site", "deploy", "blog", str(folder), env=env)
        assert deployed.returncode == 0, deployed.stderr
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "poplist", "serve", "--http-port", str(port)],
        env={**child_env(), **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        page = wait_for(f"{base}/", "blog.sites.test", "version two", server, timeout=120)
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["content-encoding"] == "br"  # httpx asks for br when brotli is installed
        custom = httpx.get(f"{base}/docs/", headers={"Host": "www.acme.test:8000"})
        assert custom.text == "docs"
        assert httpx.get(f"{base}/x", headers={"Host": "nobody.sites.test"}).status_code == 404
        assert run_poplist("site", "rollback", "blog", env=env).returncode == 0
        wait_for(f"{base}/", "www.acme.test", "version one", server, timeout=5)
    finally:
        server.terminate()
        server.wait(timeout=20)
