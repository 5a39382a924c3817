"""Fixtures shared by the whole suite: real databases, the real CLI, a real SMTP sink."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each domain's fixtures live in its own plugin module, so domains never edit this file together.
pytest_plugins = [
    "poplist.testing.fixtures_inbound",
    "poplist.testing.fixtures_delivery",
    "poplist.testing.fixtures_bounces",
    "poplist.testing.fixtures_sites",
    "poplist.testing.fixtures_web",
    "poplist.testing.fixtures_exchange",
]


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("POPLIST_TEST_DATABASE") != "postgresql":
        return
    import psycopg

    url = os.environ["POPLIST_DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.Error as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.exit(f"PostgreSQL is unreachable in CI ({exc}); this is a failure, not a skip.", returncode=1)
        pytest.exit(f"WARNING: PostgreSQL is unreachable ({exc}); the PostgreSQL pass was skipped.", returncode=0)


@pytest.fixture(autouse=True)
def english_after_each_test():
    """A page or command that switches to French must not leave the next test in French."""
    yield
    from django.utils import translation

    translation.deactivate()


# --- Data ------------------------------------------------------------------------------------------


@pytest.fixture
def tenant(db):
    from poplist.accounts.services import create_tenant

    return create_tenant("acme", "Acme", "lists.acme.test")


@pytest.fixture
def other_tenant(db):
    from poplist.accounts.services import create_tenant

    return create_tenant("globex", "Globex", "lists.globex.test")


@pytest.fixture
def make_list(tenant):
    from poplist.lists.services import create_list, update_settings

    def make(local: str = "news", **settings):
        mailing_list = create_list(tenant, f"{local}@lists.acme.test", owners=["owner@acme.test"])
        if settings:
            update_settings(mailing_list, {k: str(v) for k, v in settings.items()})
            mailing_list.refresh_from_db()
        return mailing_list

    return make


@pytest.fixture
def mailing_list(make_list):
    return make_list()


# --- Mail ------------------------------------------------------------------------------------------


@pytest.fixture
def smtp_sink():
    """A real SMTP server on a free port that keeps every envelope it accepts."""
    from poplist.testing.sink import run_sink

    with run_sink() as sink:
        yield sink


# --- Processes -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env() -> dict[str, str]:
    """Environment for a child process that must see the test database."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{settings['NAME']}"
    else:
        url = f"postgresql://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    return {
        **os.environ,
        "POPLIST_DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "poplist.settings",
        # `poplist serve` also runs the LMTP server: tests running side by side must not fight for its port.
        "POPLIST_LMTP_PORT": str(free_port()),
    }


@pytest.fixture
def run_poplist(transactional_db):
    """Run the real `poplist` command in a child process against the test database."""

    def run(*args: str, input: str | None = None, timeout: float = 60, env: dict | None = None):
        return subprocess.run(
            [sys.executable, "-m", "poplist", *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**child_env(), **(env or {})},
            cwd=ROOT,
        )

    return run


@pytest.fixture
def cli(db):
    """Invoke the `poplist` command in this process (same code, faster than a child process)."""
    from click.testing import CliRunner

    from poplist.cli import main

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke
