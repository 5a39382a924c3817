"""bench/mailman_compare.py's direct member loader writes what Mailman's own API writes.

The comparison needs Mailman 3.3.10 in its own venv (the benchmark installs it on first run, from
PyPI); without it the Mailman test is skipped. The row comparison itself is checked without
Mailman: a difference in one value or one SQLite type must be reported.
"""

from __future__ import annotations

import importlib.util
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "mailman_compare.py"
VENV = Path.home() / ".cache" / "poplist-bench" / "mailman-venv"


def _bench():
    spec = importlib.util.spec_from_file_location("mailman_compare", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _database(path: Path, rows: list[tuple]) -> Path:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE member (id INTEGER, _member_id CHAR(32), display_name VARCHAR, at DATETIME)")
    connection.executemany("INSERT INTO member VALUES (?, ?, ?, ?)", rows)
    connection.commit()
    connection.close()
    return path


def test_rows_compare_equal_up_to_random_ids_and_times(tmp_path):
    bench = _bench()
    api = _database(
        tmp_path / "api.db",
        [(1, "ab" * 16, "", "2026-11-27 10:15:20.599548"), (2, "cd" * 16, "", "2026-11-27 10:15:20.626857")],
    )
    direct = _database(
        tmp_path / "direct.db",
        [(1, "ef" * 16, "", "2026-11-27 11:00:00.000001"), (2, "01" * 16, "", "2026-11-27 11:00:00.000002")],
    )
    assert bench.normalise(bench.dump_tables(api)) == bench.normalise(bench.dump_tables(direct))


@pytest.mark.parametrize(
    "row",
    [
        (2, "01" * 16, None, "2026-11-27 11:00:00.000002"),  # NULL where the API writes ''
        (2, "ef" * 16, "", "2026-11-27 11:00:00.000002"),  # one member id used twice
        (2, "01" * 16, "", "2026-11-27 11:00:00"),  # a time in another format
        (3, "01" * 16, "", "2026-11-27 11:00:00.000002"),  # another id
    ],
)
def test_a_different_row_is_reported(tmp_path, row):
    bench = _bench()
    api = _database(
        tmp_path / "api.db",
        [(1, "ab" * 16, "", "2026-11-27 10:15:20.599548"), (2, "cd" * 16, "", "2026-11-27 10:15:20.626857")],
    )
    direct = _database(tmp_path / "direct.db", [(1, "ef" * 16, "", "2026-11-27 11:00:00.000001"), row])
    assert bench.normalise(bench.dump_tables(api)) != bench.normalise(bench.dump_tables(direct))


@pytest.mark.slow
@pytest.mark.skipif(not (VENV / "bin" / "mailman").exists(), reason="Mailman's bench venv is not installed")
def test_direct_loader_writes_the_rows_mailmans_api_writes():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--compare-loaders", "--members", "60", "--mailman-venv", str(VENV)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "'member': 60, 'preferences': 120, 'uid': 60" in result.stdout
    assert "the API and the direct loader wrote the same rows" in result.stdout
