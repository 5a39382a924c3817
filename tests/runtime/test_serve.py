"""`poplist serve` and `poplist demo` as a new user runs them: real processes, real HTTP, real SMTP."""

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from conftest import ROOT, child_env, free_port


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 90) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: {process.stdout.read()}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout}s")


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


@pytest.mark.slow
def test_serve_runs_web_and_worker_that_mails_through_the_relay(run_poplist, smtp_sink):
    assert run_poplist("tenant", "create", "acme", "--name", "Acme", "--domain", "lists.acme.test").returncode == 0
    assert run_poplist("list", "create", "news@lists.acme.test", "--tenant", "acme").returncode == 0
    port = free_port()
    env = {**child_env(), "POPLIST_RELAY": smtp_sink.url, "POPLIST_BASE_URL": f"http://127.0.0.1:{port}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "poplist", "serve", "--http-port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        page = wait_for_http(f"http://127.0.0.1:{port}/lists/news@lists.acme.test/", server)
        assert page.status_code == 200 and "Subscribe" in page.text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/lists/news@lists.acme.test/",
            cookies=page.cookies,
            data={"email": "ann@example.org", "csrfmiddlewaretoken": token},
        )
        assert "Check your mailbox" in answer.text
        deadline = time.monotonic() + 20
        while not smtp_sink.messages and time.monotonic() < deadline:
            time.sleep(0.2)
        [received] = smtp_sink.messages
        assert received.recipients == ["ann@example.org"]
        assert received.mail_from == "news-bounces@lists.acme.test"
        assert f"http://127.0.0.1:{port}/confirm/" in received.data.decode()
    finally:
        assert stop(server) == 0


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("POPLIST_TEST_DATABASE") == "postgresql", reason="the demo runs on embedded SQLite")
def test_demo_seeds_and_serves_with_a_working_owner_login(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "POPLIST_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "poplist.settings",
        "POPLIST_LMTP_PORT": str(free_port()),
    }
    env.pop("POPLIST_DATABASE_URL", None)
    env.pop("POPLIST_BASE_URL", None)
    demo = subprocess.Popen(
        [sys.executable, "-m", "poplist", "demo", "--http-port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        while not any("Press Ctrl-C" in line for line in lines):
            line = demo.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        printed = "".join(lines)
        owner, password = re.search(r"Owner console: +\S+ +(\S+) / (\S+)", printed).groups()
        list_url = re.search(r"Public list page: +(\S+)", printed).group(1)
        page = wait_for_http(list_url, demo)
        assert page.status_code == 200 and "Demo News" in page.text
        with httpx.Client(base_url=f"http://localhost:{port}", follow_redirects=True) as client:
            login = client.get("/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
            console = client.post(
                "/login/",
                data={"username": owner, "password": password, "csrfmiddlewaretoken": token, "next": "/console/"},
            )
            assert "Demo News" in console.text and "300" in console.text
        assert (tmp_path / "poplist.sqlite3").exists()
    finally:
        assert stop(demo) == 0
