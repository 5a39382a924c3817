"""Figures of the web pages at scale (issue 6), on SQLite and PostgreSQL.

Generates an instance (one list of --members members, --lists lists holding --memberships memberships
in all, an archive with long threads), then measures in one process with Django's test client
(full middleware, templates, database; no HTTP server):
  p50/p95 of the members page (first page, a deep page), a member search, the tenant dashboard,
  the list index and an archive thread page, against a baseline measured in the same run: the
  login page (no database read).
Then starts `poplist web` (granian) on a free loopback port and drives one-click unsubscribe
POSTs (RFC 8058) from a thread-pool load generator with keep-alive connections: requests/s and
p99 latency, against the same server's static CSS file as a baseline.

    python bench/web.py                                  # 1,000,000 members, 10,000 lists, 4,000,000 memberships
    python bench/web.py --members 100000 --lists 1000 --memberships 400000 --engines sqlite   # quick

Goals: p95 < 100 ms for each page; ≥ 1,000 unsubscribes/s with p99 < 50 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("POPLIST_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


# --- Parent: one fresh database per engine, one child process each --------------------------------


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def run_engine(engine: str, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="poplist-bench-web-") as data_dir:
        env = {**os.environ, "POPLIST_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "poplist.settings"}
        database = None
        if engine == "postgresql":
            database = f"poplist_bench_{uuid.uuid4().hex[:8]}"
            env["POPLIST_DATABASE_URL"] = f"{PG_SERVER}/{database}"
            pg_admin(f"CREATE DATABASE {database}")
        else:
            env["POPLIST_DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
        env["POPLIST_ALLOWED_HOSTS"] = "*"
        try:
            child = [sys.executable, __file__, "--child", "--members", str(args.members), "--lists", str(args.lists)]
            child += ["--memberships", str(args.memberships), "--requests", str(args.requests)]
            child += ["--seconds", str(args.seconds)]
            done = subprocess.run(child, env=env, capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                raise SystemExit(f"{engine} failed:\n{done.stderr[-4000:]}")
            return json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            if database:
                pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


# --- Child: generate, then measure -------------------------------------------------------------------


def generate(members: int, lists: int, memberships: int) -> dict:
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from poplist.accounts.services import create_tenant, create_user
    from poplist.archive.services import archive_message
    from poplist.lists.models import MailingList, Member, MemberEvent

    call_command("migrate", interactive=False, verbosity=0)
    started = time.monotonic()
    tenant = create_tenant("bench", "Bench", "bench.test")
    tenant.quota_lists = lists + 10
    tenant.quota_members = members + memberships + 10
    tenant.save()
    owner, _password = create_user("owner@bench.test", tenant=tenant, password="bench-password")
    domain = tenant.domains.get()
    now = timezone.now()
    MailingList.objects.bulk_create(
        [
            MailingList(
                tenant=tenant,
                domain=domain,
                local_part=f"list{n:05d}",
                address=f"list{n:05d}@bench.test",
                display_name=f"List {n}",
                created_at=now,
            )
            for n in range(lists)
        ],
        batch_size=2000,
    )
    big = MailingList.objects.get(address="list00000@bench.test")
    others = lists - 1
    per_list = (memberships - members) // others if others else 0
    columns = [f.column for f in Member._meta.concrete_fields if f.column != "id"]
    defaults = {
        "display_name": "",
        "role": "member",
        "delivery_mode": "regular",
        "status": "enabled",
        "disabled_reason": "",
        "moderated": False,
        "attributes": "{}",
        "joined_via": "import",
        "joined_at": now,
        "joined_ref": "",
    }
    pg = connection.vendor == "postgresql"
    series = "generate_series(1, %s) AS s(n)" if pg else "s"
    recursive = "" if pg else "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < %s) "
    concat = "||"

    def select_list(list_expr: str, email_expr: str, name_expr: str) -> tuple[str, list]:
        parts, params = [], []
        for column in columns:
            if column == "mailing_list_id":
                parts.append(list_expr)
            elif column == "email":
                parts.append(email_expr)
            elif column == "display_name":
                parts.append(name_expr)
            elif column in defaults:
                parts.append("%s")
                params.append(defaults[column])
            else:
                parts.append("NULL")
        return ", ".join(parts), params

    with transaction.atomic(), connection.cursor() as cursor:
        # One list of `members` rows, then `per_list` rows in every other list.
        select, params = select_list("%s", f"'user' {concat} n {concat} '@example.org'", f"'User ' {concat} n")
        cursor.execute(
            f"{recursive}INSERT INTO lists_member ({', '.join(columns)}) SELECT {select} FROM {series}",
            ([members] if not pg else []) + [big.pk, *params] + ([members] if pg else []),
        )
        if per_list:
            select, params = select_list("l.id", f"'m' {concat} n {concat} '@example.net'", "''")
            from_clause = f"{series} CROSS JOIN lists_mailinglist l"
            cursor.execute(
                f"{recursive}INSERT INTO lists_member ({', '.join(columns)}) SELECT {select} FROM {from_clause} "
                "WHERE l.id <> %s",
                ([per_list] if not pg else []) + params + ([per_list] if pg else []) + [big.pk],
            )
        MailingList.objects.filter(pk=big.pk).update(member_count=members)
        MailingList.objects.exclude(pk=big.pk).update(member_count=per_list)
        MemberEvent.objects.bulk_create(
            [
                MemberEvent(
                    mailing_list=big,
                    email=f"user{n}@example.org",
                    action="subscribed" if n % 5 else "unsubscribed",
                    created_at=now - timezone.timedelta(minutes=n * 17),
                )
                for n in range(5000)
            ],
            batch_size=2000,
        )
    # An archive: 20 threads of 25 messages on the big list.
    for thread in range(20):
        for n in range(25):
            parent = (
                f"In-Reply-To: <t{thread}m{n - 1}@bench.test>\r\nReferences: <t{thread}m0@bench.test>\r\n" if n else ""
            )
            raw = (
                f"From: Writer {n} <w{n}@example.org>\r\nTo: list00000@bench.test\r\nSubject: Re: Topic {thread}\r\n"
                f"Message-ID: <t{thread}m{n}@bench.test>\r\n{parent}Date: Tue, 10 Nov 2026 10:{n:02d}:00 +0000\r\n"
                f"\r\nMessage {n} of topic {thread}: some words about gardens, budgets and meetings.\r\n"
            ).encode()
            archive_message(big, raw, live=False)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"owner": owner.pk, "big": big.address, "generate_s": round(time.monotonic() - started, 1)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_pages(data: dict, requests: int) -> dict:
    from django.test import Client

    from poplist.accounts.models import User
    from poplist.archive.models import Thread

    client = Client()
    client.force_login(User.objects.get(pk=data["owner"]))
    address = data["big"]
    members = f"/console/lists/{address}/members/"
    deep_cursor = "user9"  # 'user9…' sorts in the last ninth of the list: a deep page by keyset
    thread = Thread.objects.order_by("-message_count").first()
    pages = {
        "baseline: login page": "/login/",
        "members, first page": members,
        "members, deep page": f"{members}?after={deep_cursor}",
        "member search": f"{members}?q=user12345",
        "tenant dashboard": "/console/",
        "list index": "/console/lists/",
        "archive thread page": f"/lists/{address}/archive/thread/{thread.permalink_id}/",
    }
    figures = {}
    for name, url in pages.items():
        timings = []
        for attempt in range(requests + 3):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (url, response.status_code)
            if attempt >= 3:
                timings.append(elapsed)
        figures[name] = {"p50_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1)}
    return figures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load(port: int, paths: list[str], method: str, seconds: float, threads: int = 8) -> dict:
    """Keep-alive HTTP/1.1 clients on loopback, each walking its own share of `paths`."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    body = b"List-Unsubscribe=One-Click"

    def worker(share: list[str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        for path in share:
            if time.monotonic() > deadline:
                break
            started = time.perf_counter()
            try:
                if method == "POST":
                    headers = {"Content-Type": "application/x-www-form-urlencoded"}
                    connection.request("POST", path, body=body, headers=headers)
                else:
                    connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            mine.append((time.perf_counter() - started) * 1000)
            if not ok:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    shares = [paths[i::threads] for i in range(threads)]
    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "requests": len(latencies),
        "per_s": round(len(latencies) / elapsed),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "errors": errors[0],
    }


def unsubscribe_load(data: dict, seconds: float) -> dict:
    from django.db import connection

    from poplist.lists.models import MailingList, Member
    from poplist.lists.subscriptions import unsubscribe_token

    big = MailingList.objects.get(address=data["big"])
    ids = list(
        Member.objects.filter(mailing_list=big, role="member").order_by("pk").values_list("pk", flat=True)[:60000]
    )
    paths = [f"/u/{unsubscribe_token(Member(pk=pk))}/" for pk in ids]
    connection.close()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "poplist", "web", "--http-port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.3)
        load(port, ["/static/web/poplist.css"] * 200, "GET", 5)  # warm up both workers
        baseline = load(port, ["/static/web/poplist.css"] * 200_000, "GET", seconds)
        unsubscribe = load(port, paths, "POST", seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    left = Member.objects.filter(mailing_list=big, role="member").count()
    unsubscribe["members_removed"] = data["members"] - left
    return {"baseline: static CSS GET": baseline, "one-click unsubscribe POST": unsubscribe}


def child(args) -> None:
    import django

    django.setup()
    data = generate(args.members, args.lists, args.memberships)
    data["members"] = args.members
    from django.db import connection

    result = {"engine": connection.vendor, "generate_s": data["generate_s"], "pages": time_pages(data, args.requests)}
    result["http"] = unsubscribe_load(data, args.seconds)
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--lists", type=int, default=10_000)
    parser.add_argument("--memberships", type=int, default=4_000_000)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument("--seconds", type=float, default=10, help="duration of each HTTP load")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(f"{args.members:,} members in one list; {args.memberships:,} memberships over {args.lists:,} lists")
    for engine in args.engines.split(","):
        result = run_engine(engine, args)
        print(f"\n== {engine} (generated in {result['generate_s']} s)")
        base = result["pages"]["baseline: login page"]["p50_ms"]
        for name, figure in result["pages"].items():
            ratio = figure["p50_ms"] / base if base else 0
            print(
                f"  {name:28} p50 {figure['p50_ms']:7.1f} ms   p95 {figure['p95_ms']:7.1f} ms   ×{ratio:.1f} baseline"
            )
        http_base = result["http"]["baseline: static CSS GET"]["per_s"]
        for name, figure in result["http"].items():
            ratio = figure["per_s"] / http_base if http_base else 0
            extra = f"   removed {figure['members_removed']:,}" if "members_removed" in figure else ""
            print(
                f"  {name:28} {figure['per_s']:6,}/s   p50 {figure['p50_ms']:.1f} ms   p99 {figure['p99_ms']:.1f} ms"
                f"   errors {figure['errors']}   ×{ratio:.2f} baseline{extra}"
            )


if __name__ == "__main__":
    main()
