"""Figure: what the standby's change log costs a bulk import of members (`poplist members import`).

    python bench/exchange_triggers.py [--rows 200000] [--engine sqlite] [--repeat 3]

Each run imports the same CSV into a fresh list of a fresh instance, once with the change log
off (the baseline) and once after `poplist standby enable`, interleaved; prints the medians and
the ratio.
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


def measure(engine: str, csv_path: Path, logged: bool) -> float:
    instance = Instance(engine)
    try:
        instance.run("tenant", "create", "bench", "--name", "Bench", "--domain", "lists.bench.test")
        instance.run("list", "create", "big@lists.bench.test", "--tenant", "bench")
        if logged:
            instance.run("standby", "enable")
        started = time.perf_counter()
        instance.run("members", "import", "big@lists.bench.test", str(csv_path))
        return time.perf_counter() - started
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
        off, on = [], []
        for _ in range(args.repeat):
            off.append(measure(args.engine, csv_path, False))
            on.append(measure(args.engine, csv_path, True))
    base, logged = statistics.median(off), statistics.median(on)
    print(f"{args.engine}: members import of {args.rows:,} rows (whole command, median of {args.repeat})")
    print(f"  change log off {base:6.2f} s ({args.rows / base:8,.0f} rows/s)")
    print(
        f"  change log on  {logged:6.2f} s ({args.rows / logged:8,.0f} rows/s)   cost {100 * (logged / base - 1):+.0f}%"
    )


if __name__ == "__main__":
    main()
