"""Figure: posts accepted per second over real LMTP connections, committed before 250.

A list of 1,000 members; C client threads in this process each hold one LMTP connection to
`poplist inbound` running in its own process, and send distinct member posts. Every post is
routed, run through the rule chain, prepared (List-* headers, subject prefix), stored with
its decision, archived (threaded, indexed for search) and queued for delivery in the
transaction committed before the 250.

Baseline, measured in the same run on the same machine: a bare aiosmtpd LMTP server (own
process) whose handler only writes the same raw message into a table and commits before
250 (one transaction per message, same SQLite pragmas / same PostgreSQL).

    python bench/inbound.py [--engines sqlite,postgresql] [--posts 2000] [--clients 8] [--repeat 3]

Goal (issue 3): at least 300 posts/s on SQLite on the 2-core machine. Figures are medians.
Measured 2026-11-27 12:08, quiet (load 0.0 -> 1.0), archive entry written before the 250,
--engines sqlite,postgresql --posts 1000 --repeat 3: SQLite 334 posts/s against 841 for the
bare server (ratio 0.40), PostgreSQL 217 against 761 (0.28). History in docs/inbound.md: the
figures swing by about 20% from run to run on the shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
PG_SERVER = os.environ.get("POPLIST_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
LIST = "news@lists.bench.test"


def env_for(engine: str, data_dir: str) -> dict:
    env = {**os.environ, "POPLIST_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "poplist.settings"}
    env.pop("POPLIST_CONFIG", None)
    if engine == "postgresql":
        database = f"poplist_bench_inbound_{uuid.uuid4().hex[:8]}"
        pg_admin(f"CREATE DATABASE {database}")
        env["POPLIST_DATABASE_URL"] = f"{PG_SERVER}/{database}"
        env["BENCH_PG_DATABASE"] = database
    else:
        env["POPLIST_DATABASE_URL"] = f"sqlite:///{data_dir}/poplist.sqlite3"
    return env


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(env: dict) -> None:
    """Migrate and create the list with 1,000 members (in a child, with the child's settings)."""
    code = f"""
import django; django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from poplist.accounts.services import create_tenant
from poplist.lists.services import create_list, update_settings
from poplist.lists.models import Member
t = create_tenant("bench", "Bench", "lists.bench.test")
ml = create_list(t, "{LIST}", owners=["owner@bench.test"])
update_settings(ml, {{"subject_prefix": "[news]", "dmarc_mitigation": "never"}})
Member.objects.bulk_create([Member(mailing_list=ml, email=f"m{{i}}@example.org") for i in range(1000)])
ml.member_count = 1000; ml.save()
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)


def baseline_server(port: int) -> None:
    """The bare server: aiosmtpd LMTP, one INSERT of the raw bytes and a COMMIT per message, then 250."""
    import asyncio

    import django

    django.setup()
    from aiosmtpd.lmtp import LMTP
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw (id bigserial PRIMARY KEY, rcpt text, raw bytea)"
            if connection.vendor == "postgresql"
            else "CREATE TABLE IF NOT EXISTS bench_raw (id integer PRIMARY KEY, rcpt text, raw blob)"
        )
    lock = threading.Lock()

    def store(rcpt: str, raw: bytes) -> None:
        with lock, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_raw (rcpt, raw) VALUES (%s, %s)", [rcpt, raw])

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            await asyncio.to_thread(store, envelope.rcpt_tos[0], envelope.original_content)
            return "250 2.0.0 Ok"

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: LMTP(Handler(), enable_SMTPUTF8=True, loop=loop), "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def post(i: int, run: str) -> bytes:
    return (
        f"From: Member {i} <m{i % 1000}@example.org>\r\nTo: {LIST}\r\nSubject: Post {i} of {run}\r\n"
        f"Date: Fri, 27 Nov 2026 03:00:00 +0000\r\nMessage-ID: <{run}.{i}@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + ("A line of a post of average length, in English.\r\n" * 40)
    ).encode()


def drive(port: int, posts: int, clients: int) -> dict:
    from poplist.inbound.client import LMTPClient

    run = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    failures: list = []
    counter = iter(range(posts))
    lock = threading.Lock()

    def worker():
        with LMTPClient("127.0.0.1", port) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                raw = post(i, run)
                started = time.perf_counter()
                replies = client.send(f"m{i % 1000}@example.org", [LIST], raw)
                elapsed = time.perf_counter() - started
                code = replies[LIST][0]
                with lock:
                    latencies.append(elapsed)
                    if code != 250:
                        failures.append(replies)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "rate": posts / wall,
        "median_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "failures": len(failures),
    }


def wait_port(port: int, process: subprocess.Popen) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def measure(engine: str, kind: str, posts: int, clients: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="poplist-bench-inbound-") as data_dir:
        env = env_for(engine, data_dir)
        try:
            setup(env)
            port = free_port()
            argv = (
                [sys.executable, "-m", "poplist", "inbound", "--lmtp-port", str(port)]
                if kind == "poplist"
                else [sys.executable, __file__, "--baseline-server", str(port)]
            )
            server = subprocess.Popen(argv, env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
            try:
                wait_port(port, server)
                drive(port, min(100, posts), clients)  # warm up: imports, caches, connections
                result = drive(port, posts, clients)
            finally:
                server.terminate()
                server.wait(20)
            if kind == "poplist":
                result["accepted"] = count_jobs(env)
            return result
        finally:
            if engine == "postgresql":
                pg_admin(f"DROP DATABASE IF EXISTS {env['BENCH_PG_DATABASE']} WITH (FORCE)")


def count_jobs(env: dict) -> int:
    code = (
        "import django; django.setup()\n"
        "from poplist.delivery.models import DeliveryJob\nprint(DeliveryJob.objects.count())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_server:
        baseline_server(args.baseline_server)
        return
    for engine in args.engines.split(","):
        runs = {"poplist": [], "baseline": []}
        for _ in range(args.repeat):
            for kind in ("baseline", "poplist"):
                runs[kind].append(measure(engine, kind, args.posts, args.clients))
        med = {
            k: {f: statistics.median(r[f] for r in v) for f in ("rate", "median_ms", "p99_ms")} for k, v in runs.items()
        }
        failures = sum(r["failures"] for v in runs.values() for r in v)
        print(
            f"{engine}: poplist {med['poplist']['rate']:.0f} posts/s "
            f"(median {med['poplist']['median_ms']:.1f} ms, p99 {med['poplist']['p99_ms']:.1f} ms); "
            f"bare aiosmtpd+INSERT {med['baseline']['rate']:.0f} msg/s "
            f"(median {med['baseline']['median_ms']:.1f} ms, p99 {med['baseline']['p99_ms']:.1f} ms); "
            f"ratio {med['poplist']['rate'] / med['baseline']['rate']:.2f}; "
            f"{args.posts} posts x {args.repeat} runs, {args.clients} connections, failures {failures}, "
            f"jobs queued per run {[r['accepted'] for r in runs['poplist']]}"
        )


if __name__ == "__main__":
    main()
