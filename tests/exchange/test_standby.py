"""A standby on the other database engine follows the primary live, survives its death, and is promoted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from tests.conftest import ROOT, child_env, free_port

from poplist.testing.fixtures_exchange import fresh_database, query_database, wait_for_http

pytestmark = pytest.mark.slow


def start(env: dict, *args: str, log=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "poplist", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log or subprocess.DEVNULL,
        start_new_session=True,  # granian's workers are children: kill the whole group
    )


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def run(env: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "poplist", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_until(check, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_failover_keeps_everything_acknowledged_before_the_lag(transactional_db, tmp_path):
    from django.db import connection

    from poplist.accounts.services import create_api_token
    from poplist.archive.services import archive_message
    from poplist.exchange import changelog
    from poplist.lists.models import Member
    from poplist.testing.fixtures_exchange import build_rich_instance, rich_message

    data = build_rich_instance()
    changelog.install()
    _token, secret = create_api_token(None, name="standby")
    port = free_port()
    primary_env = child_env()
    web = start(primary_env, "web", "--http-port", str(port), "--workers", "1")
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    follower = None
    try:
        wait_for_http(f"http://127.0.0.1:{port}/")
        with fresh_database(other, tmp_path / "standby.sqlite3") as url:
            standby_env = {**primary_env, "POPLIST_DATABASE_URL": url}
            run(standby_env, "migrate")
            follower = start(
                standby_env,
                "standby",
                "follow",
                f"http://127.0.0.1:{port}",
                "--token",
                secret,
                "--poll",
                "0.05",
                log=open(tmp_path / "follower.log", "w"),  # noqa: SIM115 - closed with the process
            )
            count = "SELECT count(*) FROM lists_member WHERE email LIKE 'live%%'"
            acked: list[tuple[str, float]] = []
            # Posts and subscriptions arrive steadily; each is acknowledged (committed) before the next.
            for i in range(60):
                Member.objects.create(mailing_list=data["news"], email=f"live{i}@example.org")
                if i % 10 == 0:
                    archive_message(data["news"], rich_message(500 + i), live=False)
                acked.append((f"live{i}@example.org", time.monotonic()))
                time.sleep(0.05)
                if i == 20:
                    try:
                        wait_until(lambda: query_database(url, count.replace("%%", "%"))[0][0] > 0, timeout=90)
                    except AssertionError:
                        state = query_database(url, "SELECT snapshot_done, applied_seq FROM exchange_follow")
                        copied = query_database(url, "SELECT count(*) FROM lists_member")
                        raise AssertionError(
                            f"follower alive={follower.poll() is None} state={state} members={copied} "
                            f"{(tmp_path / 'follower.log').read_text()[-3000:]}"
                        ) from None
            from poplist.exchange.models import Follower

            assert Follower.objects.get().acked_seq > 0  # the standby acknowledges what it applied (log pruning)
            kill(web)  # the primary dies mid-traffic
            killed_at = time.monotonic()
            for i in range(60, 70):  # acknowledged by the primary after its feed died: may be lost
                Member.objects.create(mailing_list=data["news"], email=f"live{i}@example.org")
            time.sleep(1.0)
            status = json.loads(run(standby_env, "standby", "status", "--json"))
            assert status["role"] == "standby"
            lag = status["lag_seconds"]
            promoted = json.loads(run(standby_env, "standby", "promote", "--json"))
            assert promoted["seconds"] < 30
            follower.wait(timeout=30)  # it stops following once promoted
            on_standby = {row[0] for row in query_database(url, "SELECT email FROM lists_member")}
            # Tolerance: the lag measured on the last page, plus half a second of scheduling on a busy machine.
            must_have = [email for email, at in acked if at < killed_at - max(lag or 0, 1.0) - 0.5]
            assert len(must_have) > 25
            missing = [e for e in must_have if e not in on_standby]
            assert missing == [], (tmp_path / "follower.log").read_text()[-3000:]
            assert "person1@Example1.org" in on_standby  # the first copy
            raws = query_database(url, "SELECT count(*) FROM archive_archivedmessage")[0][0]
            assert raws >= 14 + 5
            # The promoted standby now takes writes with fresh ids, and logs them for its own standby.
            run(standby_env, "list", "create", "after@lists.acme.test", "--tenant", "acme")
            assert query_database(url, "SELECT count(*) FROM exchange_change")[0][0] > 0
    finally:
        for process in (web, follower):
            if process:
                kill(process)
