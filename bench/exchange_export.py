"""Figure: `poplist export` of an instance with many members: time, rows/s and peak RSS (memory must stay flat).

    python bench/exchange_export.py --members 400000 [--engine sqlite|postgresql]

Measures the export at a quarter of the members and at all of them (flat memory: the two peak
RSS are close), and, as the baseline in the same run, the engine's raw read of the same rows
(a cursor over `SELECT * FROM lists_member` written as JSON Lines) at the full size.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exchange_common import Instance


def seed(members: int, offset: int) -> None:
    import poplist

    poplist.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from poplist.accounts.models import Tenant
    from poplist.accounts.services import create_tenant
    from poplist.lists.models import MailingList
    from poplist.lists.services import create_list, recount_members

    tenant = Tenant.objects.filter(slug="bench").first() or create_tenant("bench", "Bench", "lists.bench.test")
    mailing_list = MailingList.objects.filter(tenant=tenant).first() or create_list(tenant, "big@lists.bench.test")
    now = timezone.now().isoformat()
    columns = (
        "mailing_list_id, email, display_name, role, delivery_mode, status, disabled_reason, moderated, "
        "attributes, joined_via, joined_at, joined_ref"
    )
    rows = (
        (
            mailing_list.pk,
            f"m{i}@example.org",
            f"Member {i}",
            "member",
            "regular",
            "enabled",
            "",
            False,
            "{}",
            "import",
            now,
            "bench.csv",
        )
        for i in range(offset, offset + members)
    )
    with transaction.atomic(), connection.cursor() as cursor:
        marks = ",".join(["%s"] * 12)
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == 10_000:
                cursor.executemany(f"INSERT INTO lists_member ({columns}) VALUES ({marks})", batch)
                batch = []
        if batch:
            cursor.executemany(f"INSERT INTO lists_member ({columns}) VALUES ({marks})", batch)
    recount_members(mailing_list)


def export(out: str) -> None:
    import poplist

    poplist.setup()
    from poplist.exchange.services import export as run_export

    started = time.perf_counter()
    manifest = run_export(Path(out))
    seconds = time.perf_counter() - started
    rows = manifest["tenants"][0]["counts"]["members.jsonl"]
    print(
        json.dumps(
            {"seconds": seconds, "rows": rows, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        )
    )


def raw(out: str) -> None:
    import poplist

    poplist.setup()
    from django.db import connection

    started = time.perf_counter()
    rows = 0
    with connection.cursor() as cursor, open(out, "w") as handle:
        cursor.execute("SELECT * FROM lists_member ORDER BY id")
        names = [c[0] for c in cursor.description]
        while batch := cursor.fetchmany(2000):
            for row in batch:
                handle.write(json.dumps(dict(zip(names, row, strict=True)), default=str) + "\n")
                rows += 1
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {"seconds": seconds, "rows": rows, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=400_000)
    parser.add_argument("--engine", default="sqlite")
    parser.add_argument("--child", choices=["seed", "export", "raw"])
    parser.add_argument("--arg", default="")
    parser.add_argument("--offset", type=int, default=0)
    args = parser.parse_args()
    if args.child == "seed":
        return seed(args.members, args.offset)
    if args.child:
        return {"export": export, "raw": raw}[args.child](args.arg)
    instance = Instance(args.engine)
    me = str(Path(__file__).resolve())
    try:
        quarter = args.members // 4
        results = {}
        with tempfile.TemporaryDirectory(prefix="poplist-bench-export-") as tmp:
            instance.python(me, "--child", "seed", "--members", str(quarter))
            results["quarter"] = json.loads(instance.python(me, "--child", "export", "--arg", f"{tmp}/q"))
            instance.python(me, "--child", "seed", "--members", str(args.members - quarter), "--offset", str(quarter))
            results["full"] = json.loads(instance.python(me, "--child", "export", "--arg", f"{tmp}/f"))
            results["raw"] = json.loads(instance.python(me, "--child", "raw", "--arg", f"{tmp}/raw.jsonl"))
            size = sum(p.stat().st_size for p in Path(f"{tmp}/f").rglob("*") if p.is_file())
        print(f"{args.engine}: export of {args.members:,} members ({size / 2**20:.0f} MiB)")
        for name in ("quarter", "full", "raw"):
            r = results[name]
            print(
                f"  {name:>7}: {r['rows']:>9,} rows in {r['seconds']:6.1f} s = {r['rows'] / r['seconds']:8,.0f} rows/s"
                f"   peak RSS {r['rss_mb']:.0f} MiB"
            )
        ratio = (results["full"]["rows"] / results["full"]["seconds"]) / (
            results["raw"]["rows"] / results["raw"]["seconds"]
        )
        flat = results["full"]["rss_mb"] / results["quarter"]["rss_mb"]
        print(f"  export/raw speed ratio {ratio:.2f}; peak RSS full/quarter {flat:.2f}")
    finally:
        instance.drop()


if __name__ == "__main__":
    main()
