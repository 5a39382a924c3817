"""Members per second of a migration (listmonk CSV → `import-from` path) against the owners' bulk import.

    .venv/bin/python bench/import_migration.py [--members 50000] [--database-url postgresql://…/db]

Both read the same generated CSV into a fresh list of a throwaway database (SQLite in a
temporary folder unless --database-url is given); the migration also keeps each member's
consent record, status and attributes. Prints both rates and their ratio.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="poplist-bench-"))
    os.environ["POPLIST_DATA_DIR"] = str(folder)
    os.environ["POPLIST_DATABASE_URL"] = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("POPLIST_SECRET_KEY", "bench")
    os.environ["DJANGO_SETTINGS_MODULE"] = "poplist.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from poplist.accounts.services import create_tenant
    from poplist.lists.importing import import_members
    from poplist.lists.services import create_list
    from poplist.portability.importers import listmonk
    from poplist.portability.services import import_list

    tenant = create_tenant(f"bench{int(time.time())}", "Bench", f"b{int(time.time())}.bench.test")
    tenant.quota_members = 10 * args.members
    tenant.save()
    domain = tenant.domains.get().name
    csv_path = folder / "subscribers.csv"
    with open(csv_path, "w") as out:
        out.write("uuid,email,name,attributes,status,created_at,updated_at\n")
        for n in range(args.members):
            stamp = "2021-05-08 10:20:03.123456 +0000 UTC"
            out.write(f'u{n},user{n}@example.org,User {n},"{{""n"": {n}}}",enabled,{stamp},{stamp}\n')

    baseline_list = create_list(tenant, f"baseline@{domain}")
    started = time.perf_counter()
    with open(csv_path, "rb") as stream:
        import_members(baseline_list, stream, source="bench")
    baseline = args.members / (time.perf_counter() - started)

    started = time.perf_counter()
    report = import_list(tenant, listmonk.read(csv_path, address=f"migrated@{domain}"), actor="bench")
    migration = args.members / (time.perf_counter() - started)
    assert report.counts["members_added"] == args.members, report.counts

    print(f"database: {django.db.connection.vendor}, members: {args.members}")
    print(f"owners' bulk import (baseline): {baseline:,.0f} members/s")
    print(f"migration (import-from listmonk): {migration:,.0f} members/s")
    print(f"ratio migration/baseline: {migration / baseline:.2f}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    sys.exit(main())
