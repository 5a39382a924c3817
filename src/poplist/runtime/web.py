"""The HTTP server: granian (a Rust HTTP server) running Django's WSGI application."""

from __future__ import annotations

import os


def serve_web(host: str, port: int, workers: int | None = None) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        "poplist.wsgi:application",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers or max(os.cpu_count() or 1, 1),
        blocking_threads=4,  # per worker: requests wait on the database, not the CPU
        websockets=False,
        log_access=False,
    ).serve()
