"""Figure: one post to a list of N members, until the SMTP sink has every copy.

    python bench/fanout.py --members 100000 [--workers 2] [--mode personal|bulk] [--engine sqlite|postgresql]
                           [--no-dkim] [--ed25519]

Prints messages/s (personal) or recipients/s (bulk), the peak RSS of each worker, and the ratio to
the single-core raw RSA-2048 signing rate of this machine (a loop of `cryptography` signatures,
measured in the same run). Goals (issue 4): personal + DKIM with two workers ≥ 0.7 × the raw
signing rate; bulk ≥ 50,000 recipients/s; worker RSS ≤ 150 MB and flat in N.
The sink runs in this process (poplist.testing.counting_sink); workers are `poplist worker`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_SERVER = os.environ.get("POPLIST_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
ROOT = Path(__file__).resolve().parent.parent


def rsa_rate(seconds: float = 2.0) -> float:
    """Raw RSA-2048 PKCS#1 v1.5 SHA-256 signatures per second on one core (by the clock)."""
    return rsa_rates(seconds)[0]


def rsa_rates(seconds: float = 2.0) -> tuple[float, float]:
    """Raw RSA-2048 signatures per second by the clock, and per CPU-second of this process (the
    second does not depend on what else the machine runs)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    data = b"x" * 600
    done, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        done += 50
    return done / (time.perf_counter() - start), done / max(time.process_time() - cpu, 1e-9)


def setup(engine: str, data_dir: str) -> tuple[dict, str | None]:
    env = {"POPLIST_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "poplist.settings", "POPLIST_SECRET_KEY": "bench"}
    database = None
    if engine == "postgresql":
        import psycopg

        database = f"poplist_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {database}")
        env["POPLIST_DATABASE_URL"] = f"{PG_SERVER}/{database}"
    else:
        env["POPLIST_DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    os.environ.update(env)
    return env, database


def load_members(mailing_list, n: int) -> None:
    """Members straight into the table (the import path is measured by bench/import_members.py)."""
    from django.db import connection, transaction

    domains = ["example.org", "example.net", "mail.example.com", "exemple.fr", "post.example"]
    now = "2026-01-01 00:00:00+00:00"
    columns = (
        "mailing_list_id, email, display_name, role, delivery_mode, status, disabled_reason, moderated, "
        "attributes, joined_via, joined_at, joined_ref"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY lists_member ({columns}) FROM STDIN") as copy:
                for i in range(n):
                    copy.write_row(
                        (
                            mailing_list.pk,
                            f"m{i}@{domains[i % 5]}",
                            "",
                            "member",
                            "regular",
                            "enabled",
                            "",
                            False,
                            "{}",
                            "import",
                            now,
                            "",
                        )
                    )
        else:
            rows = (
                (
                    mailing_list.pk,
                    f"m{i}@{domains[i % 5]}",
                    "",
                    "member",
                    "regular",
                    "enabled",
                    "",
                    False,
                    "{}",
                    "import",
                    now,
                    "",
                )
                for i in range(n)
            )
            cursor.executemany(f"INSERT INTO lists_member ({columns}) VALUES ({', '.join(['%s'] * 12)})", rows)
    mailing_list.member_count = n
    mailing_list.save(update_fields=["member_count"])


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


POST = (
    b"From: Ann <ann@example.org>\r\nTo: news@lists.bench.test\r\nSubject: [news] Bench post\r\n"
    b"Date: Fri, 27 Nov 2026 03:00:00 +0000\r\nMessage-ID: <bench@example.org>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nList-Id: <news.lists.bench.test>\r\n\r\n"
    + b"A line of a typical post, about seventy characters long, nothing more.\r\n" * 40
    + b"-- \r\nLeave: {{poplist:unsubscribe_url}}\r\nPreferences: {{poplist:preferences_url}}\r\n"
)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mode", choices=["personal", "bulk"], default="personal")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--no-dkim", action="store_true")
    parser.add_argument("--ed25519", action="store_true")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--warm", action="store_true", help="start the workers first; time from the post on")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="poplist-fanout-")
    env, database = setup(args.engine, data_dir)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from poplist.accounts.services import create_tenant
    from poplist.delivery import keys
    from poplist.delivery.jobs import enqueue_post
    from poplist.lists.services import create_list
    from poplist.testing.counting_sink import run_counting_sink

    tenant = create_tenant("bench", "Bench", "lists.bench.test")
    mailing_list = create_list(tenant, "news@lists.bench.test", owners=["owner@bench.test"])
    mailing_list.personalize = args.mode == "personal"
    mailing_list.save(update_fields=["personalize"])
    started = time.perf_counter()
    load_members(mailing_list, args.members)
    print(f"loaded {args.members} members in {time.perf_counter() - started:.1f} s", flush=True)
    if not args.no_dkim:
        keys.generate("lists.bench.test", ed25519_too=args.ed25519)
    baseline, per_cpu = rsa_rates()
    print(
        f"baseline: raw RSA-2048 signing, one core: {baseline:.0f} signatures/s ({per_cpu:.0f} per CPU-second)",
        flush=True,
    )

    import subprocess

    with run_counting_sink() as sink:
        relay = f"{sink.url}&connections={args.connections}"
        child = {**os.environ, **env, "POPLIST_RELAY": relay, "PYTHONPATH": str(ROOT / "src")}
        from django.db import transaction

        def post() -> None:
            with transaction.atomic():
                enqueue_post(mailing_list, POST, message_id="<bench@example.org>")

        def start() -> list[subprocess.Popen]:
            return [
                subprocess.Popen([sys.executable, "-m", "poplist", "worker"], env=child, stderr=subprocess.DEVNULL)
                for _ in range(args.workers)
            ]

        if args.warm:  # as in production: the workers run already, idle, when the post arrives
            workers = start()
            deadline, last = time.monotonic() + 120, None
            while time.monotonic() < deadline:
                time.sleep(1.0)
                now = [cpu_seconds(w.pid) for w in workers]
                if now == last and all(now):
                    break
                last = now
            base_cpu = [cpu_seconds(w.pid) for w in workers]
            post()
            started = time.perf_counter()
            own_start = time.process_time()
        else:  # worker start-up counts
            post()
            started = time.perf_counter()
            own_start = time.process_time()
            workers = start()
            base_cpu = [0.0] * len(workers)
        peaks = [0.0] * len(workers)
        try:
            first = None
            while sink.delivered < args.members and time.perf_counter() - started < args.timeout:
                time.sleep(0.1)
                if first is None and sink.delivered:
                    first = (time.perf_counter(), sink.delivered)
                peaks = [max(p, peak_rss_mb(w.pid)) for p, w in zip(peaks, workers, strict=True)]
            elapsed = time.perf_counter() - started
            cpus = [cpu_seconds(w.pid) - b for w, b in zip(workers, base_cpu, strict=True)]
            own_cpu = time.process_time() - own_start
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(30)
        delivered, transactions = sink.delivered, sink.transactions
    unit = "messages" if args.mode == "personal" else "recipients"
    rate = delivered / elapsed
    print(
        f"{args.mode}, {'no DKIM' if args.no_dkim else 'DKIM' + (' RSA+Ed25519' if args.ed25519 else ' RSA')}, "
        f"{args.engine}, {args.workers} worker(s), N={args.members}: {delivered} recipients in {transactions} "
        f"transactions, {elapsed:.1f} s ({'workers already running' if args.warm else 'including worker start-up'}), "
        f"{rate:,.0f} {unit}/s"
    )
    if first:
        steady = (delivered - first[1]) / max(started + elapsed - first[0], 1e-9)
        print(
            f"from the first copy on (without worker start-up): {steady:,.0f} {unit}/s, "
            f"ratio to the raw signing rate {steady / baseline:.2f}"
        )
    print(f"ratio to the raw signing rate of one core: {rate / baseline:.2f}")
    print(
        "CPU seconds: workers "
        + ", ".join(f"{c:.1f}" for c in cpus)
        + (" (after start-up)" if args.warm else " (including start-up)")
        + f", benchmark process with the sink {own_cpu:.1f}; load average {os.getloadavg()[0]:.1f}"
    )
    if delivered and args.mode == "personal":
        # What free cores (one per worker, two at most here) would do: CPU per copy against CPU per signature.
        cores = min(args.workers, os.cpu_count() or 1)
        per_copy = sum(cpus) / delivered
        sink_per_copy = own_cpu / delivered
        print(
            f"CPU per copy: workers {per_copy * 1000:.3f} ms, sink {sink_per_copy * 1000:.3f} ms; "
            f"one signature {1000 / per_cpu:.3f} ms. Ratio with {cores} free core(s): workers alone "
            f"{cores / per_copy / per_cpu:.2f}, workers and sink {cores / (per_copy + sink_per_copy) / per_cpu:.2f}"
        )
    if delivered and args.mode == "bulk":
        cores = min(args.workers, os.cpu_count() or 1)
        per_cpu_w, per_cpu_all = delivered / max(sum(cpus), 1e-9), delivered / max(sum(cpus) + own_cpu, 1e-9)
        print(
            f"recipients per CPU-second: workers {per_cpu_w:,.0f}, workers and sink {per_cpu_all:,.0f}; "
            f"with {cores} free core(s): {cores * per_cpu_w:,.0f}/s (workers alone), {cores * per_cpu_all:,.0f}/s "
            "(workers and sink)"
        )
    print("peak RSS per worker: " + ", ".join(f"{p:.0f} MB" for p in peaks))
    shutil.rmtree(data_dir, ignore_errors=True)  # a million members leave 300 MB of SQLite behind
    if database:
        import psycopg
        from django.db import connections

        connections.close_all()
        try:  # a DROP can wait behind other sessions of a shared server: give up after a while
            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
                connection.execute("SET statement_timeout = '20s'")
                connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        except psycopg.Error as exc:
            print(f"(could not drop {database}: {exc})")


if __name__ == "__main__":
    main()
