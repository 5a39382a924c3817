"""The OpenAPI document against a running `poplist web`: no generated request may cause a server error.

Bounded for CI (a few examples per operation, a time budget): it finds crashes on odd input
(huge numbers, strange Unicode, missing fields), not every bug.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_fixtures import new_token

from conftest import ROOT, child_env, free_port

pytestmark = pytest.mark.slow
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
MAX_EXAMPLES = os.environ.get("POPLIST_SCHEMATHESIS_EXAMPLES", "5")
# The coverage phase (every boundary of every parameter) takes ~90 s here: opt in with
# POPLIST_SCHEMATHESIS_PHASES=examples,coverage,fuzzing for a deeper run.
PHASES = os.environ.get("POPLIST_SCHEMATHESIS_PHASES", "examples,fuzzing")


@pytest.fixture
def web_server(transactional_db, tmp_path):
    port = free_port()
    log = (tmp_path / "web.log").open("w")  # a pipe nobody reads would fill up and block the server
    env = {**child_env(), "POPLIST_API_RATE": "100000", "POPLIST_API_BURST": "100000"}
    server = subprocess.Popen(
        [sys.executable, "-m", "poplist", "web", "--http-port", str(port), "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (tmp_path / "web.log").read_text()
            try:
                httpx.get(f"{base}/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "poplist web did not start"
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture
def seeded(mailing_list, tenant):
    from poplist.archive.services import archive_message
    from poplist.lists.members import add_members
    from poplist.lists.subscriptions import Origin

    add_members(mailing_list, [f"m{i}@example.org" for i in range(5)], origin=Origin(), welcome=False)
    archive_message(mailing_list, b"From: m1@example.org\r\nSubject: Hi\r\nMessage-ID: <a@b>\r\n\r\nHello\r\n")
    return new_token(tenant)


@pytest.mark.skipif(not SCHEMATHESIS.exists() and not shutil.which("schemathesis"), reason="schemathesis missing")
def test_no_generated_request_causes_a_server_error(web_server, seeded, tmp_path):
    command = [
        str(SCHEMATHESIS if SCHEMATHESIS.exists() else shutil.which("schemathesis")),
        "run",
        f"{web_server}/api/v1/openapi.json",
        "--checks",
        "not_a_server_error",
        "--phases",
        PHASES,
        "--max-examples",
        MAX_EXAMPLES,
        "--max-time",
        "100",
        "--seed",
        "6",
        "--workers",
        "1",
        "--header",
        f"Authorization: Bearer {seeded}",
        "--generation-database",
        "none",
        "--no-color",
        "--warnings",
        "off",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
