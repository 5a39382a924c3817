"""Figure: what the standby's change log costs a bulk import of members (`poplist members import`).

    python bench/exchange_triggers.py [--rows 200000] [--engine sqlite] [--repeat 3]

Each run imports the same CSV into a fresh list of a fresh instance, with the change log off (the
baseline), with it on as it was before tenant feeds (no tenant noted: `tenant_id` NULL), and on
as it is (each change's tenant looked up by the trigger), interleaved; prints the medians and the
ratios.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from exchange_common import Instance

# The triggers as they were before tenant feeds: the same statements, with no tenant looked up.
UNTENANTED = """
import django
django.setup()
from poplist.exchange import changelog, tenantfeed
tenantfeed.tenant_sql = lambda model, row: "NULL"
changelog.install()
"""

COUNT = """
import django
django.setup()
from poplist.exchange.models import Change
rows = Change.objects.filter(tbl="lists_member")
print(rows.count(), rows.exclude(tenant_id=None).count())
"""


def measure(engine: str, csv_path: Path, log: str) -> float:
    instance = Instance(engine)
    try:
        instance.run("tenant", "create", "bench", "--name", "Bench", "--domain", "lists.bench.test")
        instance.run("list", "create", "big@lists.bench.test", "--tenant", "bench")
        if log == "tenant":
            instance.run("standby", "enable")
        elif log == "plain":
            instance.python("-c", UNTENANTED)
        started = time.perf_counter()
        instance.run("members", "import", "big@lists.bench.test", str(csv_path))
        elapsed = time.perf_counter() - started
        logged, tenanted = map(int, instance.python("-c", COUNT).split())
        # The run measured what it says: no log, a log without tenants, or one with each change's tenant.
        expected = {"off": (logged == 0), "plain": logged > 0 and tenanted == 0, "tenant": tenanted >= logged > 0}
        assert expected[log], (log, logged, tenanted)
        return elapsed
    finally:
        instance.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--engine", default="sqlite")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "members.csv"
        with csv_path.open("w") as out:
            out.write("email,name\n")
            for i in range(args.rows):
                out.write(f"m{i}@example.org,Member {i}\n")
        times: dict[str, list[float]] = {"off": [], "plain": [], "tenant": []}
        for _ in range(args.repeat):
            for log in times:
                times[log].append(measure(args.engine, csv_path, log))
    base, plain, tenant = (statistics.median(times[k]) for k in ("off", "plain", "tenant"))
    print(f"{args.engine}: members import of {args.rows:,} rows (whole command, median of {args.repeat})")
    for label, value in (("off", base), ("on, no tenant (as before)", plain), ("on, tenant noted (now)", tenant)):
        rate = args.rows / value
        print(f"  change log {label:25} {value:6.2f} s ({rate:8,.0f} rows/s)   cost {100 * (value / base - 1):+.0f}%")
    print(f"  tenant noted / as before: {tenant / plain:.3f}")


if __name__ == "__main__":
    main()
