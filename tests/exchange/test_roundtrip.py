"""Export -> import into an empty instance -> export again gives the same export (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import ROOT, child_env

from poplist.testing.fixtures_exchange import fresh_database

pytestmark = pytest.mark.django_db


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_same_export(a: Path, b: Path) -> None:
    files_a, files_b = tree(a), tree(b)
    assert sorted(files_a) == sorted(files_b)
    for name in files_a:
        if name != "manifest.json":
            assert files_a[name] == files_b[name], name
    manifest_a, manifest_b = json.loads(files_a["manifest.json"]), json.loads(files_b["manifest.json"])
    assert manifest_a["instance"] != manifest_b["instance"]
    for key in ("instance", "created_at"):
        manifest_a.pop(key), manifest_b.pop(key)
    assert manifest_a == manifest_b


def test_export_contains_every_kind_of_data(rich_instance, tmp_path):
    from poplist.exchange.services import export

    manifest = export(tmp_path / "a")
    acme = next(t for t in manifest["tenants"] if t["slug"] == "acme")
    assert acme["counts"]["members.jsonl"] == 230 + 3  # members plus owner and moderator rows
    assert acme["counts"]["archives/news@lists.acme.test.jsonl"] == 13
    users = [json.loads(line) for line in (tmp_path / "a/tenants/acme/users.jsonl").read_text().splitlines()]
    assert {u["email"] for u in users} == {"owner@acme.test", "helper@acme.test"}
    assert all("password" not in u for u in users)  # no hashes unless --include-secrets
    mbox = (tmp_path / "a/tenants/acme/archives/news@lists.acme.test.mbox").read_bytes()
    assert b"\n>From the start of a line" in mbox and b"\n>>From quoted once" in mbox
    assert b"\n>>>From twice" in mbox
    import hashlib
    import mailbox

    held = json.loads((tmp_path / "a/tenants/acme/held.jsonl").read_text())
    assert held["message"]["subject"] == "Topic 900" and held["state"] == "pending"
    assert (tmp_path / "a/tenants/acme/dkim_keys.jsonl").read_bytes() == b""  # secrets only when asked
    assert "5.1.1" in (tmp_path / "a/tenants/acme/bounce_events.jsonl").read_text()
    with_secrets = export(tmp_path / "s", include_secrets=True)
    assert with_secrets["files"]["tenants/acme/dkim_keys.jsonl"]["records"] == 1
    assert '"password":"md5$' in (tmp_path / "s/tenants/acme/users.jsonl").read_text()

    sites = [json.loads(line) for line in (tmp_path / "a/tenants/acme/sites.jsonl").read_text().splitlines()]
    assert sites[0]["name"] == "acme-www" and sites[0]["live_deploy"] == 1  # rolled back to the first deploy
    deploys = [json.loads(line) for line in (tmp_path / "a/tenants/acme/deploys.jsonl").read_text().splitlines()]
    page = (tmp_path / f"a/tenants/acme/sites/blobs/{deploys[1]['manifest']['index.html']['sha256']}").read_bytes()
    assert page == b"<h1>Acme v2</h1>" * 40  # the file as uploaded
    assert hashlib.sha256(page).hexdigest() == deploys[1]["manifest"]["index.html"]["sha256"]

    # Any mbox reader gets the messages back (Python's reads mboxo; the index undoes mboxrd exactly).
    assert len(mailbox.mbox(str(tmp_path / "a/tenants/acme/archives/news@lists.acme.test.mbox"))) == 13


def test_round_trip_in_this_database_and_the_other_engine(rich_instance, tmp_path, django_db_blocker):
    """A (this test database) -> B (the other engine) -> C (this engine again): three identical exports."""
    from django.db import connection

    from poplist.exchange.services import export

    export(tmp_path / "a")
    here = connection.vendor
    other = "postgresql" if here == "sqlite" else "sqlite"
    with fresh_database(other, tmp_path / "b.sqlite3") as url_b, fresh_database(here, tmp_path / "c.sqlite3") as url_c:
        for url, source, out in ((url_b, tmp_path / "a", tmp_path / "b"), (url_c, tmp_path / "b", tmp_path / "c")):
            poplist(url, "migrate")
            poplist(url, "import", str(source))
            poplist(url, "export", str(out))
    assert_same_export(tmp_path / "a", tmp_path / "b")
    assert_same_export(tmp_path / "a", tmp_path / "c")


def poplist(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**child_env(), "POPLIST_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "poplist", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done
