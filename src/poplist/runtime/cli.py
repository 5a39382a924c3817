"""`poplist serve`, `web`, `worker`, `demo`, `migrate`: running Poplist."""

from __future__ import annotations

import logging

import click

from poplist.core.cli import group  # noqa: F401 - keeps the shared error handling importable here

host_option = click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
port_option = click.option("--http-port", default=8000, show_default=True, help="HTTP port.")


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


@click.command("migrate")
def migrate() -> None:
    """Create or upgrade the database schema."""
    _migrate()
    click.echo("database is up to date")


@click.command("web")
@host_option
@port_option
@click.option("--workers", type=int, default=None, help="HTTP worker processes (default: one per core).")
def web(host: str, http_port: int, workers: int | None) -> None:
    """Run only the web server (pages, API, unsubscribe, sites)."""
    from poplist.runtime.web import serve_web

    serve_web(host, http_port, workers)


@click.command("worker")
def worker() -> None:
    """Run only a background worker (sending, scheduled work); run as many as you like."""
    from poplist.runtime.worker import run_until_signalled

    logging.basicConfig(level=logging.INFO)
    run_until_signalled()


def _components(host: str, http_port: int) -> list:
    import os

    from poplist.runtime.serve import Component

    # Links in mail must point at this server unless the operator said otherwise.
    os.environ.setdefault(
        "POPLIST_BASE_URL", f"http://{'localhost' if host in {'127.0.0.1', '0.0.0.0'} else host}:{http_port}"
    )

    return [
        Component("web", ["web", "--host", host, "--http-port", str(http_port)]),
        Component("worker", ["worker"]),
        Component("inbound", ["inbound"]),  # LMTP on POPLIST_LMTP_HOST:POPLIST_LMTP_PORT
    ]


@click.command("serve")
@host_option
@port_option
def serve(host: str, http_port: int) -> None:
    """Run everything on one machine: migrations, then the web server and a worker."""
    from django.conf import settings

    from poplist.runtime.serve import supervise

    _migrate()
    click.echo(f"Poplist is serving on http://{host}:{http_port}/ (public address {settings.BASE_URL})")
    raise SystemExit(supervise(_components(host, http_port)))


@click.command("demo")
@host_option
@port_option
def demo(host: str, http_port: int) -> None:
    """Seed a demo host (tenant, domain, two lists, members, an owner) and serve it."""
    from poplist.runtime.demo import seed
    from poplist.runtime.serve import supervise

    _migrate()
    info = seed()
    base = f"http://{'localhost' if host in {'127.0.0.1', '0.0.0.0'} else host}:{http_port}"
    click.echo(
        "\n".join(
            [
                "Poplist demo is ready.",
                f"  Public list page:   {base}/lists/{info['lists'][0]}/",
                f"  French list page:   {base}/lists/{info['lists'][1]}/",
                f"  Owner console:      {base}/login/   {info['owner']} / {info['owner_password']}",
                f"  Host admin:         {base}/admin/   {info['admin']} / {info['admin_password']}",
                f"  Mail that would be sent: {_poplist_command()} outbox   (no relay is configured)",
                "Press Ctrl-C to stop.",
            ]
        )
    )
    raise SystemExit(supervise(_components(host, http_port)))


def _poplist_command() -> str:
    """How to call `poplist` again: the script beside this interpreter, as `make demo` installs it."""
    import shutil
    import sys
    from pathlib import Path

    beside = Path(sys.executable).parent / "poplist"
    return str(beside) if beside.exists() and shutil.which("poplist") != str(beside) else "poplist"


commands = [serve, web, worker, demo, migrate]
