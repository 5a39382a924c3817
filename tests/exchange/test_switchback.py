"""Fail over, then back: the old primary is demoted (what it took alone is saved), follows, and takes over again."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.conftest import ROOT, child_env, free_port

from poplist.testing.fixtures_exchange import fresh_database, query_database, wait_for_http

pytestmark = pytest.mark.slow
SENTENCE = "This node is a standby: it accepts no changes until it is promoted."


def start(env: dict, *args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "poplist", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "a"),
        start_new_session=True,
    )


def kill(process: subprocess.Popen | None) -> None:
    import os
    import signal

    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def poplist(env: dict, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "poplist", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done


def wait_until(check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def lists(url: str) -> set[str]:
    return {row[0] for row in query_database(url, "SELECT address FROM lists_mailinglist")}


def emails(url: str) -> set[str]:
    return {row[0] for row in query_database(url, "SELECT email FROM lists_member")}


def test_fail_over_demote_the_old_primary_and_switch_back(transactional_db, tmp_path):
    from django.db import connection

    from poplist.accounts.services import create_api_token, create_tenant
    from poplist.exchange import changelog, readonly
    from poplist.exchange.models import Instance
    from poplist.lists.models import Member
    from poplist.lists.services import create_list

    tenant = create_tenant("acme", "Acme", "lists.acme.test")
    news = create_list(tenant, "news@lists.acme.test", owners=["owner@acme.test"])
    for i in range(20):
        Member.objects.create(mailing_list=news, email=f"first{i}@example.org")
    changelog.install()
    _token, secret = create_api_token(None, name="standby")  # copied to the standby with the rest: valid on both
    a_env = child_env()
    a_url = f"http://127.0.0.1:{free_port()}"
    a_db = a_env["POPLIST_DATABASE_URL"]
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    log = tmp_path / "processes.log"
    processes: list[subprocess.Popen] = []
    try:
        a_web = start(a_env, "web", "--http-port", a_url.rsplit(":", 1)[1], "--workers", "1", log=log)
        processes.append(a_web)
        wait_for_http(a_url + "/")
        with fresh_database(other, tmp_path / "b.sqlite3") as b_db:
            b_env = {**child_env(), "POPLIST_DATABASE_URL": b_db, "POPLIST_STANDBY_TOKEN": secret}
            b_url = f"http://127.0.0.1:{free_port()}"
            poplist(b_env, "migrate")
            b_follow = start(b_env, "standby", "follow", a_url, "--poll", "0.2", log=log)
            processes.append(b_follow)
            wait_until(lambda: len({e for e in emails(b_db) if e.startswith("first")}) == 20)

            # The standby refuses writes from its own CLI.
            refused = poplist(b_env, "list", "create", "nope@lists.acme.test", "--tenant", "acme", ok=False)
            assert refused.returncode == 2 and SENTENCE in refused.stderr

            # A dies; what it accepts afterwards (straight into its database) never reaches B.
            kill(a_web)
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO lists_member (mailing_list_id, email, display_name, role, delivery_mode, status,"
                    " disabled_reason, moderated, attributes, joined_via, joined_at, joined_ref)"
                    " VALUES (%s, 'alone@example.org', '', 'member', 'regular', 'enabled', '', %s, '{}', 'web',"
                    " CURRENT_TIMESTAMP, '')",
                    [news.pk, False],
                )
            promoted = json.loads(poplist(b_env, "standby", "promote", "--json").stdout)
            assert promoted["epoch"] == 2
            assert promoted["old_primary"].startswith("unreachable")
            b_follow.wait(timeout=30)
            poplist(b_env, "list", "create", "during@lists.acme.test", "--tenant", "acme")
            b_web = start(b_env, "web", "--http-port", b_url.rsplit(":", 1)[1], "--workers", "1", log=log)
            processes.append(b_web)
            wait_for_http(b_url + "/")

            # A comes back, still believing it is primary; demote it to follow B.
            a_web = start(a_env, "web", "--http-port", a_url.rsplit(":", 1)[1], "--workers", "1", log=log)
            processes.append(a_web)
            wait_for_http(a_url + "/")
            demoted = json.loads(poplist(a_env, "standby", "demote", b_url, "--token", secret, "--json").stdout)
            assert demoted["epoch"] == 2
            saved = [json.loads(line) for line in Path(demoted["diverged_file"]).read_text().splitlines()]
            assert "alone@example.org" in [c["row"]["email"] for c in saved if c["table"] == "lists_member"]
            # A takes no writes now (its web process reads the role again within a second): 503, and the CLI refuses.
            time.sleep(1.1)
            answer = __import__("httpx").post(a_url + "/console/new-list/", data={"local": "x"})
            assert answer.status_code == 503 and SENTENCE in answer.text
            a_follow = start(a_env, "standby", "follow", b_url, "--token", secret, "--poll", "0.2", log=log)
            processes.append(a_follow)
            wait_until(lambda: "during@lists.acme.test" in lists(a_db))
            assert "alone@example.org" not in emails(a_db)  # emptied: A is now a copy of B
            assert len({e for e in emails(a_db) if e.startswith("first")}) == 20
            refused = poplist(a_env, "list", "create", "nope@lists.acme.test", "--tenant", "acme", ok=False)
            assert refused.returncode == 2 and SENTENCE in refused.stderr

            # Switch back: promote A, which fences B at once (B is up); then B is demoted to follow A.
            poplist(b_env, "list", "create", "late@lists.acme.test", "--tenant", "acme")
            wait_until(lambda: "late@lists.acme.test" in lists(a_db))
            back = json.loads(poplist(a_env, "standby", "promote", "--token", secret, "--json").stdout)
            assert back["epoch"] == 3 and back["old_primary"] == "fenced"
            a_follow.wait(timeout=30)
            time.sleep(1.1)  # B's processes read the role again within a second
            refused = poplist(b_env, "list", "create", "split@lists.acme.test", "--tenant", "acme", ok=False)
            assert refused.returncode == 2 and SENTENCE in refused.stderr
            answer = __import__("httpx").post(b_url + "/console/new-list/", data={"local": "x"})
            assert answer.status_code == 503
            status = json.loads(poplist(b_env, "standby", "status", "--json").stdout)
            assert status["role"] == "standby" and status["epoch"] == 2
            # A node is never demoted to follow itself.
            itself = poplist(b_env, "standby", "demote", b_url, "--token", secret, ok=False)
            assert itself.returncode == 2
            again = json.loads(poplist(b_env, "standby", "demote", a_url, "--token", secret, "--json").stdout)
            assert again["epoch"] == 3 and again["diverged_changes"] == 0
            poplist(a_env, "list", "create", "final@lists.acme.test", "--tenant", "acme")
            b_follow = start(b_env, "standby", "follow", a_url, "--poll", "0.2", log=log)
            processes.append(b_follow)
            wait_until(lambda: "final@lists.acme.test" in lists(b_db))
            assert "during@lists.acme.test" in lists(b_db)
            for process in processes:
                kill(process)
    finally:
        for process in processes:
            kill(process)
        with readonly.applying():  # the test database is emptied after the test: never as a standby
            Instance.objects.update(role=Instance.Role.PRIMARY)
        readonly.forget()
        print(log.read_text()[-3000:])
