"""Figure: requests/s of the REST API's member list on a large list, against a baseline endpoint.

Builds a fresh instance (SQLite or PostgreSQL) with one list of --members members (through
`poplist members import`), runs `poplist web`, and drives it from --concurrency client threads
for --seconds per scenario:

  baseline      GET /api/v1/tenants/acme                      (auth + routing + one small read)
  first page    GET /api/v1/lists/L/members?limit=50
  deep page     the same from a cursor 90% of the way down    (keyset: should cost what page 1 costs)
  filtered      ?delivery_mode=regular&limit=50
  search        ?q=<part of an address>&limit=50

and prints requests/s, p50/p95 latency (ms) and the ratio to the baseline, medians of --repeat runs.

    python bench/api_members.py --members 200000 [--engine sqlite|postgresql] [--seconds 5]

The load generator is Python on the same machine as the server, so absolute figures are a floor.
"""

from __future__ import annotations

import argparse
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

import httpx

PG_SERVER = os.environ.get("POPLIST_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
LIST = "big@lists.bench.test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poplist(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "poplist", *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def build(env: dict, members: int, data_dir: Path) -> tuple[str, list[str]]:
    poplist(env, "migrate")
    poplist(env, "tenant", "create", "acme", "--name", "Acme", "--domain", "lists.bench.test")
    poplist(env, "list", "create", LIST, "--tenant", "acme")
    emails = [f"user{i:07d}@example.org" for i in range(members)]
    csv = data_dir / "members.csv"
    csv.write_text("email\n" + "\n".join(emails) + "\n")
    started = time.perf_counter()
    poplist(env, "members", "import", LIST, str(csv))
    print(f"  imported {members:,} members in {time.perf_counter() - started:.1f} s")
    return poplist(env, "token", "create", "--tenant", "acme").strip(), emails


def deep_cursor(env: dict, email: str) -> str:
    """A cursor as the server signs it (same secret key), positioned at `email`."""
    os.environ.update(env)
    import django

    django.setup()
    from poplist.api.pagination import encode_cursor
    from poplist.lists.models import Member

    return encode_cursor([email, "member"], Member)


def load(url: str, token: str, seconds: float, concurrency: int) -> tuple[float, float, float]:
    latencies: list[float] = []
    errors = []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def worker() -> None:
        mine = []
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            while time.monotonic() < stop:
                started = time.perf_counter()
                answer = client.get(url)
                mine.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    errors.append(answer.status_code)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    if errors:
        raise SystemExit(f"{url}: {len(errors)} errors, e.g. {errors[0]}")
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p95 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="web worker processes")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="poplist-bench-api-") as data_dir:
        env = {
            **os.environ,
            "POPLIST_DATA_DIR": data_dir,
            "POPLIST_SECRET_KEY": uuid.uuid4().hex,
            "POPLIST_API_RATE": "1000000",
            "POPLIST_API_BURST": "1000000",
            "DJANGO_SETTINGS_MODULE": "poplist.settings",
        }
        database = None
        if options.engine == "postgresql":
            import psycopg

            database = f"poplist_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
                connection.execute(f"CREATE DATABASE {database}")
            env["POPLIST_DATABASE_URL"] = f"{PG_SERVER}/{database}"
        else:
            env["POPLIST_DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
        print(
            f"{options.engine}: {options.members:,} members, {options.concurrency} clients, {options.workers} workers"
        )
        try:
            run(env, options, Path(data_dir))
        finally:
            if database:
                import psycopg

                with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
                    connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def run(env: dict, options, data_dir: Path) -> None:
    token, emails = build(env, options.members, data_dir)
    cursor = deep_cursor(env, emails[int(len(emails) * 0.9)])
    port = free_port()
    log = (data_dir / "web.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "poplist", "web", "--http-port", str(port), "--workers", str(options.workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    members = f"{base}/lists/{LIST}/members"
    scenarios = {
        "baseline": f"{base}/tenants/acme",
        "first page": f"{members}?limit=50",
        "deep page": f"{members}?limit=50&cursor={cursor}",
        "filtered": f"{members}?limit=50&delivery_mode=regular",
        "search": f"{members}?limit=50&q=user00123",
    }
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("poplist web did not start") from None
                time.sleep(0.3)
        page = httpx.get(scenarios["deep page"], headers={"Authorization": f"Bearer {token}"}).json()
        assert page["items"][0]["email"] > emails[int(len(emails) * 0.9)], page
        for url in scenarios.values():  # warm up each worker
            for _ in range(options.workers * 4):
                httpx.get(url, headers={"Authorization": f"Bearer {token}"})
        figures = {name: [] for name in scenarios}
        for _ in range(options.repeat):
            for name, url in scenarios.items():
                figures[name].append(load(url, token, options.seconds, options.concurrency))
        base_rate = statistics.median(f[0] for f in figures["baseline"])
        print(f"  {'scenario':<12} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'vs baseline':>12}")
        for name, runs in figures.items():
            rate = statistics.median(r[0] for r in runs)
            p50 = statistics.median(r[1] for r in runs)
            p95 = statistics.median(r[2] for r in runs)
            print(f"  {name:<12} {rate:>8.0f} {p50:>8.1f} {p95:>8.1f} {rate / base_rate:>11.2f}x")
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
