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
        # Python threads per worker: requests wait on the database (group commit batches the requests
        # waiting, core/groupcommit.py). bench/web.py's one-click POSTs, interleaved runs: 4 threads
        # 1,056-1,133/s, 2 threads 888-919/s; a site's small page costs the same CPU with 2 or 4 within
        # the noise (33-35 against 35-36 µs a request, bench/sites.py's setup).
        blocking_threads=4,
        websockets=False,
        log_access=False,
    ).serve()
