"""Figure: `poplist members import` of a generated CSV into an empty list, on SQLite and PostgreSQL.

Prints, per engine: rows/s and peak RSS of the import, and, measured in the same run on the
same file, the engine's own raw bulk load of the same rows into the same members table
(csv.reader + one `executemany` on SQLite, csv.reader + `COPY` of text blocks on
PostgreSQL, one transaction, no validation, no deduplication) and the ratio import/raw.

    python bench/import_members.py --rows 1000000 [--engines sqlite,postgresql] [--repeat 3]

Goal (issue 2): ≥100,000 rows/s on PostgreSQL, ≥50,000 on SQLite, ratio ≥0.5, peak RSS < 200 MB.
Each measurement runs in a fresh process on a fresh database; the figures are medians. The
load average and, per engine, the CPU seconds of the importing process and of its PostgreSQL
backend (read from /proc when the server is local) are printed too: on a busy machine compare
ratios and CPU seconds, not rows/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

PG_SERVER = os.environ.get("POPLIST_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


def generate(path: Path, rows: int) -> None:
    rng = random.Random(42)
    first = ["ann", "bob", "chloe", "david", "elodie", "farid", "gael", "hugo", "ines", "jules"]
    domains = ["example.org", "example.net", "mail.example.com", "exemple.fr", "post.example"]
    with path.open("w") as out:
        out.write("email,name\n")
        for i in range(rows):
            name = rng.choice(first)
            out.write(f"{name}.{i}@{domains[i % len(domains)]},{name.capitalize()} {i}\n")


def child_env(engine: str, data_dir: str) -> tuple[dict, str | None]:
    env = {**os.environ, "POPLIST_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "poplist.settings"}
    database = None
    if engine == "postgresql":
        database = f"poplist_bench_{uuid.uuid4().hex[:8]}"
        env["POPLIST_DATABASE_URL"] = f"{PG_SERVER}/{database}"
    else:
        env["POPLIST_DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    return env, database


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as connection:
        connection.execute(sql)


def measure(engine: str, mode: str, csv_path: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="poplist-bench-") as data_dir:
        env, database = child_env(engine, data_dir)
        if database:
            pg_admin(f"CREATE DATABASE {database}")
        try:
            output = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--file", str(csv_path)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        except subprocess.CalledProcessError as exc:
            raise SystemExit(f"{engine} {mode} failed:\n{exc.stderr}") from None
        finally:
            if database:
                pg_admin(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    return json.loads(output.strip().splitlines()[-1])


# --- in the child process ----------------------------------------------------------------------------


def child(mode: str, csv_path: Path) -> None:
    import resource

    import poplist

    poplist.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from poplist.accounts.services import create_tenant
    from poplist.lists.services import create_list

    tenant = create_tenant("bench", "Bench", "lists.bench.test")
    tenant.quota_members = 10**9
    tenant.save()
    mailing_list = create_list(tenant, "big@lists.bench.test")
    server_cpu = _server_cpu_reader()
    server_before = server_cpu()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    client_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    if mode == "import":
        from poplist.lists.importing import import_members

        with csv_path.open("rb") as stream:
            report = import_members(mailing_list, stream, source=csv_path.name)
        rows = report.added
    else:
        rows = raw_load(mailing_list, csv_path)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    server_after = server_cpu()
    print(
        json.dumps(
            {
                "rows": rows,
                "seconds": seconds,
                "peak_rss_mb": usage.ru_maxrss / 1024,
                "client_cpu": usage.ru_utime + usage.ru_stime - client_before,
                "server_cpu": None if server_after is None else server_after - server_before,
            }
        )
    )


def _server_cpu_reader():
    """CPU seconds of this connection's PostgreSQL backend, when the server runs on this machine.

    On a shared machine wall-clock figures swing with the load; CPU seconds much less. On an
    idle two-core machine an import takes about its client CPU (parsing, overlapped with the
    server's staging) plus the server's CPU for the move.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return lambda: None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        stat = Path(f"/proc/{cursor.fetchone()[0]}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float | None:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # another machine, or another container
            return None
        return (int(fields[11]) + int(fields[12])) / ticks

    return read


def raw_load(mailing_list, csv_path: Path) -> int:
    """The engine's own bulk load of the same rows into the same table, in one transaction."""
    import csv

    from django.db import connection, transaction
    from django.utils import timezone

    now = timezone.now()
    columns = (
        "mailing_list_id, email, display_name, role, delivery_mode, status, disabled_reason, moderated, "
        "attributes, joined_via, joined_at, joined_ref"
    )
    rows = 0
    with csv_path.open(newline="") as handle, transaction.atomic():
        reader = csv.reader(handle)
        next(reader)
        if connection.vendor == "postgresql":
            stamp = now.isoformat()
            with connection.cursor() as cursor, cursor.cursor.copy(f"COPY lists_member ({columns}) FROM STDIN") as copy:
                block = []
                for email, name in reader:
                    block.append(
                        f"{mailing_list.pk}\t{email}\t{name}\tmember\tregular\tenabled\t\tf\t{{}}\timport\t"
                        f"{stamp}\traw\n"
                    )
                    if len(block) == 10_000:
                        copy.write("".join(block))
                        rows += len(block)
                        block = []
                copy.write("".join(block))
                rows += len(block)
        else:
            raw = connection.connection

            def generate_rows():
                nonlocal rows
                for email, name in reader:
                    rows += 1
                    yield (
                        mailing_list.pk,
                        email,
                        name,
                        "member",
                        "regular",
                        "enabled",
                        "",
                        False,
                        "{}",
                        "import",
                        now.isoformat(),
                        "raw",
                    )

            raw.executemany(f"INSERT INTO lists_member ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", generate_rows())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", choices=["import", "raw"])
    parser.add_argument("--file")
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.file))
        return
    with tempfile.TemporaryDirectory(prefix="poplist-bench-csv-") as folder:
        csv_path = Path(folder) / "members.csv"
        generate(csv_path, args.rows)
        print(f"{args.rows:,} rows, {csv_path.stat().st_size / 1e6:.0f} MB of CSV; median of {args.repeat} runs each")
        print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        for engine in args.engines.split(","):
            imports, raws = [], []
            for _ in range(args.repeat):  # interleaved, so that machine noise hits both alike
                imports.append(measure(engine, "import", csv_path))
                raws.append(measure(engine, "raw", csv_path))
            assert all(r["rows"] == args.rows for r in imports), imports
            rate = statistics.median(args.rows / r["seconds"] for r in imports)
            raw_rate = statistics.median(args.rows / r["seconds"] for r in raws)
            rss = max(r["peak_rss_mb"] for r in imports)
            print(
                f"{engine:>10}: import {rate:10,.0f} rows/s   raw {raw_rate:10,.0f} rows/s   "
                f"ratio {rate / raw_rate:.2f}   peak RSS {rss:.0f} MB"
            )
            print(f"{'':>10}  CPU s, median (client + server): import {_cpu(imports)}   raw {_cpu(raws)}")
        print("load average at end: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def _cpu(runs: list[dict]) -> str:
    client = statistics.median(r["client_cpu"] for r in runs)
    if any(r["server_cpu"] is None for r in runs):
        return f"{client:.1f} + ?"
    return f"{client:.1f} + {statistics.median(r['server_cpu'] for r in runs):.1f}"


if __name__ == "__main__":
    main()
