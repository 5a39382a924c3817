"""Figure: a live standby's lag (commit on the primary -> visible on the standby), p50/p99, time to promote, log size.

    python bench/exchange_mirror.py [--seconds 20] [--rate 50] [--primary sqlite] [--standby sqlite] [--keep 1000]
                                    [--tenant]

Two instances on loopback: the primary runs `poplist web` (the feed), the standby runs
`poplist standby follow`. This process writes on the primary steadily (a subscription every
1/rate s, a post every tenth) and a thread watches the standby's database every 5 ms. Goals
(issue 8): lag p99 <= 5 s, promotion <= 30 s. The baseline in the same run is the poll interval.
The change log is pruned every --prune-every seconds (the worker does it every minute) keeping
--keep changes behind the standby; its size is sampled every second, against the changes logged
in all (what the table would hold unpruned).

--tenant: the standby is a tenant's own live copy (a token of tenant `bench`); another tenant
writes as much at the same time, and none of its rows may reach the copy.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exchange_common import Instance


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def query(url: str, sql: str) -> list[tuple]:
    if url.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def wait_http(url: str) -> None:
    import httpx

    for _ in range(300):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(url)


def kill(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=50, help="writes per second on the primary")
    parser.add_argument("--poll", type=float, default=0.2, help="the standby's poll interval once caught up")
    parser.add_argument("--primary", default="sqlite")
    parser.add_argument("--standby", default="sqlite")
    parser.add_argument("--keep", type=int, default=1000, help="changes kept behind the standby when pruning")
    parser.add_argument("--prune-every", type=float, default=2.0, help="seconds between prunes")
    parser.add_argument("--tenant", action="store_true", help="a tenant's live copy, another tenant writing too")
    args = parser.parse_args()
    primary, standby = Instance(args.primary), Instance(args.standby)
    processes = []
    try:
        primary.run("tenant", "create", "bench", "--name", "Bench", "--domain", "lists.bench.test")
        primary.run("list", "create", "live@lists.bench.test", "--tenant", "bench")
        primary.run("standby", "enable")
        scope = ["--tenant", "bench"] if args.tenant else []
        token = json.loads(primary.run("token", "create", "--name", "standby", *scope, "--json"))["token"]
        if args.tenant:
            primary.run("tenant", "create", "other", "--name", "Other", "--domain", "lists.other.test")
            primary.run("list", "create", "noise@lists.other.test", "--tenant", "other")
        port = free_port()
        processes.append(primary.start("web", "--http-port", str(port), "--workers", "1"))
        wait_http(f"http://127.0.0.1:{port}/")
        follower = standby.start(
            "standby", "follow", f"http://127.0.0.1:{port}", "--token", token, "--poll", str(args.poll)
        )
        processes.append(follower)
        os.environ.update(POPLIST_DATABASE_URL=primary.url, POPLIST_DATA_DIR=str(primary.dir))
        os.environ.update(DJANGO_SETTINGS_MODULE="poplist.settings", POPLIST_SECRET_KEY="bench")
        import poplist

        poplist.setup()
        from django.db import transaction

        from poplist.archive.services import archive_message
        from poplist.exchange.pruning import log_size, prune
        from poplist.lists.models import MailingList, Member

        mailing_list = MailingList.objects.get(address="live@lists.bench.test")
        noise = MailingList.objects.filter(address="noise@lists.other.test").first()
        committed: dict[str, float] = {}
        seen: dict[str, float] = {}
        done = threading.Event()

        def watch() -> None:
            last = 0
            while not done.is_set():
                rows = query(standby.url, f"SELECT id, email FROM lists_member WHERE id > {last} ORDER BY id")
                now = time.monotonic()
                for row_id, email in rows:
                    seen.setdefault(email, now)
                    last = max(last, row_id)
                time.sleep(0.005)

        while not query(standby.url, "SELECT count(*) FROM exchange_follow WHERE snapshot_done")[0][0]:
            time.sleep(0.1)
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        interval = 1 / args.rate
        started = time.monotonic()
        i = 0
        sizes: list[int] = []
        pruned_at = sampled_at = started
        while time.monotonic() - started < args.seconds:
            if time.monotonic() - pruned_at >= args.prune_every:
                prune(args.keep)
                pruned_at = time.monotonic()
            if time.monotonic() - sampled_at >= 1.0:
                sizes.append(log_size()["rows"])
                sampled_at = time.monotonic()
            email = f"live{i}@example.org"
            with transaction.atomic():
                Member.objects.create(mailing_list=mailing_list, email=email)
                if i % 10 == 0:
                    raw = f"Message-ID: <p{i}@bench>\r\nSubject: post {i}\r\nFrom: a@b.test\r\n\r\nbody\r\n".encode()
                    archive_message(mailing_list, raw, live=False)
            committed[email] = time.monotonic()
            if noise is not None:  # the other tenant writes as much: its feed skips all of it
                Member.objects.create(mailing_list=noise, email=f"noise{i}@other.test")
            i += 1
            time.sleep(max(0.0, started + i * interval - time.monotonic()))
        deadline = time.monotonic() + 30
        while len(seen) < len(committed) and time.monotonic() < deadline:
            time.sleep(0.05)
        done.set()
        lags = sorted(seen[e] - committed[e] for e in committed if e in seen)
        p50 = statistics.median(lags)
        p99 = lags[int(len(lags) * 0.99) - 1]
        print(f"primary {args.primary} -> standby {args.standby}: {len(committed)} writes at {args.rate:.0f}/s")
        print(f"  lag p50 {p50:.3f} s   p99 {p99:.3f} s   max {lags[-1]:.3f} s   (poll interval {args.poll} s)")
        print(f"  seen on the standby: {len(lags)}/{len(committed)}")
        if noise is not None:
            leaked = query(standby.url, "SELECT count(*) FROM lists_member WHERE email LIKE '%@other.test'")[0][0]
            print(f"  tenant copy: the other tenant's {i} members on the copy: {leaked}")
        logged = log_size()["head"]
        print(
            f"  change log: {logged:,} changes logged in all (unpruned size); pruned every {args.prune_every} s"
            f" keeping {args.keep}: rows max {max(sizes):,}, median {statistics.median(sizes):,.0f},"
            f" at the end {sizes[-1]:,} ({max(sizes) / logged:.2f} of unpruned)"
        )
        kill(processes[0])  # the primary goes away
        begun = time.monotonic()
        promoted = json.loads(standby.run("standby", "promote", "--json"))
        wall = time.monotonic() - begun
        follower.wait(timeout=30)
        print(f"  promote: {promoted['seconds']:.3f} s in the service, {wall:.2f} s for the whole command")
    finally:
        for process in processes:
            kill(process)
        primary.drop()
        standby.drop()


if __name__ == "__main__":
    main()
