"""Helpers shared by the exchange benchmarks: fresh databases and `poplist` child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("POPLIST_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


class Instance:
    """A fresh, migrated database (SQLite file or PostgreSQL database) and its own data dir."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self.dir = Path(tempfile.mkdtemp(prefix=f"poplist-bench-{engine}-"))
        if engine == "sqlite":
            self.url = f"sqlite:///{self.dir}/poplist.sqlite3"
        else:
            import psycopg

            self.name = f"poplist_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_SERVER + "/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = f"{PG_SERVER}/{self.name}"
        self.env = {
            **os.environ,
            "POPLIST_DATABASE_URL": self.url,
            "POPLIST_DATA_DIR": str(self.dir),
            "POPLIST_SECRET_KEY": "bench",
            "DJANGO_SETTINGS_MODULE": "poplist.settings",
        }
        self.run("migrate")

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "poplist", *args], env=self.env, cwd=ROOT, capture_output=True, text=True
        )
        if done.returncode:
            raise RuntimeError(done.stderr)
        return done.stdout

    def python(self, *args: str) -> str:
        done = subprocess.run([sys.executable, *args], env=self.env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(done.stderr)
        return done.stdout

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "poplist", *args],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(os.environ["POPLIST_BENCH_LOG"], "a")
            if os.environ.get("POPLIST_BENCH_LOG")
            else subprocess.DEVNULL,
            start_new_session=True,
        )

    def drop(self) -> None:
        if self.engine == "postgresql":
            import psycopg

            with psycopg.connect(PG_SERVER + "/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
