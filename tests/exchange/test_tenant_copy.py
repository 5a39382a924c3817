"""A customer's own live copy: with their tenant token, another instance follows just their tenant over HTTP,
sees a new member and a new post within seconds, never another tenant's data, and is promoted to serve their list."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from tests.conftest import child_env, free_port
from tests.exchange.test_standby import kill, run, start, wait_until

from poplist.testing.fixtures_exchange import fresh_database, query_database, wait_for_http

pytestmark = pytest.mark.slow


def test_tenant_follows_its_own_data_live_and_is_promoted(transactional_db, tmp_path):
    from django.db import connection

    from poplist.accounts.services import create_api_token
    from poplist.archive.services import archive_message
    from poplist.exchange import changelog
    from poplist.lists.models import Member
    from poplist.sites.models import Site
    from poplist.sites.services import deploy_files
    from poplist.testing.fixtures_exchange import build_rich_instance, rich_message

    data = build_rich_instance()
    changelog.install()
    _token, secret = create_api_token(data["acme"], name="my own copy")  # the customer's token, not the host's
    port = free_port()
    primary_env = child_env()
    web = start(primary_env, "web", "--http-port", str(port), "--workers", "1")
    other = "postgresql" if connection.vendor == "sqlite" else "sqlite"
    follower = copy_web = None
    log = tmp_path / "follower.log"
    try:
        wait_for_http(f"http://127.0.0.1:{port}/")
        with fresh_database(other, tmp_path / "copy.sqlite3") as url:
            copy_env = {**primary_env, "POPLIST_DATABASE_URL": url}
            run(copy_env, "migrate")
            # Another tenant's data: refused with the primary's sentence, and this instance is left as it was.
            refused = run_fail(
                copy_env, "mirror", "follow", f"http://127.0.0.1:{port}", "--token", secret, "--tenant", "globex"
            )
            assert "There is no tenant globex." in refused
            assert json.loads(run(copy_env, "mirror", "status", "--json"))["role"] == "primary"
            # No --tenant: the token's scope says which tenant.
            follower = start(
                copy_env, "mirror", "follow", f"http://127.0.0.1:{port}", "--token", secret, "--poll", "0.05",
                log=open(log, "w"),  # noqa: SIM115 - closed with the process
            )  # fmt: skip

            def has(sql: str) -> bool:
                return query_database(url, sql)[0][0] > 0

            wait_until(lambda: has("SELECT count(*) FROM exchange_follow WHERE snapshot_done"), timeout=90)
            assert query_database(url, "SELECT slug FROM accounts_tenant") == [("acme",)]
            copied = {r[0] for r in query_database(url, "SELECT address FROM lists_mailinglist")}
            assert copied == {"news@lists.acme.test", "livres@bücher.acme.test"}
            # Live: a member and a post on acme, and on globex at the same time.
            written = time.monotonic()
            Member.objects.create(mailing_list=data["news"], email="live@example.org")
            Member.objects.create(mailing_list=data["globex"].lists.get(), email="never@globex.test")
            archive_message(data["news"], rich_message(801), live=False)
            site = Site.objects.get(name="acme-www")
            deploy_files(site, {"index.html": b"<h1>Acme v3</h1>", "new.css": b"body{}"}, via="api")
            wait_until(lambda: has("SELECT count(*) FROM lists_member WHERE email = 'live@example.org'"), timeout=20)
            wait_until(lambda: has("SELECT count(*) FROM archive_archivedmessage WHERE subject LIKE '%801%'"), 20)
            wait_until(lambda: has("SELECT count(*) FROM sites_deploy WHERE number = 3"), timeout=20)
            seen_after = time.monotonic() - written
            assert seen_after < 10, seen_after  # within seconds
            # Nothing of globex: no tenant, list, member, user, or bounce of theirs.
            for sql in (
                "SELECT count(*) FROM lists_member WHERE email LIKE '%globex%'",
                "SELECT count(*) FROM accounts_user WHERE email LIKE '%globex%'",
                "SELECT count(*) FROM lists_mailinglist WHERE address LIKE '%globex%'",
                "SELECT count(*) FROM delivery_dkimkey",
                "SELECT count(*) FROM accounts_apitoken",
            ):
                assert not has(sql), sql
            assert not has("SELECT count(*) FROM accounts_user WHERE password NOT LIKE '!exported%'")
            # The new deploy's files came too (fetched by sha256), each once.
            new_css = "SELECT count(*) FROM sites_blob WHERE size = 6"
            assert has(new_css)
            status = json.loads(run(copy_env, "mirror", "status", "--json"))
            assert status["role"] == "standby" and status["tenant"] == "acme"
            assert status["lag_seconds"] is not None and status["lag_seconds"] < 10
            # A read-only copy, as a full standby.
            refused = run_fail(copy_env, "list", "create", "x@lists.acme.test", "--tenant", "acme")
            assert "This node is a standby" in refused
            promoted = json.loads(run(copy_env, "mirror", "promote", "--token", secret, "--json"))
            assert promoted["old_primary"].startswith("not fenced")  # the host keeps serving its other tenants
            follower.wait(timeout=30)
            primary_still = httpx.get(f"http://127.0.0.1:{port}/api/v1/export/feed/scope", headers=auth(secret))
            assert primary_still.status_code == 200  # not fenced: the primary still answers
            # The copy now runs on its own: it serves acme's list and takes writes.
            copy_port = free_port()
            copy_web = start(copy_env, "web", "--http-port", str(copy_port), "--workers", "1")
            wait_for_http(f"http://127.0.0.1:{copy_port}/")
            own = json.loads(run(copy_env, "token", "create", "--name", "admin", "--json"))["token"]
            api = f"http://127.0.0.1:{copy_port}/api/v1"
            news = httpx.get(f"{api}/lists/news@lists.acme.test", headers=auth(own), timeout=10)
            assert news.status_code == 200, news.text
            members = httpx.get(f"{api}/lists/news@lists.acme.test/members/live@example.org", headers=auth(own))
            assert members.status_code == 200
            host = query_database(url, "SELECT name FROM sites_hostname WHERE is_default")[0][0]
            page = httpx.get(f"http://127.0.0.1:{copy_port}/", headers={"Host": host}, timeout=10)
            assert "Acme v3" in page.text, page.text[:300]  # acme's site, its files copied live
            run(copy_env, "list", "create", "after@lists.acme.test", "--tenant", "acme")
            live = "SELECT s.name, d.number FROM sites_site s JOIN sites_deploy d ON d.id = s.live_deploy_id"
            sites = query_database(url, live)
            assert sites == [("acme-www", 3)]
    finally:
        for process in (web, follower, copy_web):
            if process:
                kill(process)


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def run_fail(env: dict, *args: str) -> str:
    import subprocess
    import sys

    from tests.conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-m", "poplist", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    return done.stderr + done.stdout
