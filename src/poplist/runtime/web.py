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
        # Python threads per worker. Two, not more: each extra thread contends for the GIL on every
        # request; bench/sites.py (small page, one worker) measured 38.5 µs of CPU a request with 4
        # threads, 30 µs with 2 or 1 — and 2 keep a request that waits on the database from
        # holding up the next one (there are no long polls: the standby polls the feed).
        blocking_threads=2,
        websockets=False,
        log_access=False,
    ).serve()
