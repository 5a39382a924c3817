"""The whole test suite: lint, then every test on SQLite, then on PostgreSQL.

`make test` runs this. In CI (CI=true) an unreachable PostgreSQL or a missing chromium is
a failure; on a developer's machine it is a loud skip of that part.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(argv: list[str], **env: str) -> int:
    print(f"\n=== {' '.join(f'{k}={v}' for k, v in env.items())} {' '.join(argv)}", flush=True)
    return subprocess.call(argv, cwd=ROOT, env={**os.environ, **env})


def main() -> int:
    extra = sys.argv[1:]
    workers = ["-n", os.environ.get("POPLIST_TEST_WORKERS", "2")]
    steps = [
        ([str(BIN / "ruff"), "check", "src", "tests", "bench", "scripts"], {}),
        ([sys.executable, "-m", "pytest", *workers, *extra], {"POPLIST_TEST_DATABASE": "sqlite"}),
        ([sys.executable, "-m", "pytest", *workers, *extra], {"POPLIST_TEST_DATABASE": "postgresql"}),
    ]
    failed = [" ".join(argv[:3]) + f" ({env})" for argv, env in steps if run(argv, **env) != 0]
    if failed:
        print("\nFAILED: " + "; ".join(failed))
        return 1
    print("\nall tests passed on SQLite and PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
