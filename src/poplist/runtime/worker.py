"""The background worker: a loop over periodic tasks until told to stop.

Each task is a function returning how much it did; the loop sleeps only when none did
anything, so a busy queue is drained at full speed and an idle one costs nothing.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class Task:
    name: str
    run: Callable[[], int]
    every: float = 0.0  # seconds between runs; 0: every turn of the loop
    last: float = float("-inf")  # never run: due at once (monotonic time may be smaller than `every`)


def default_tasks() -> list[Task]:
    """Every domain package's `tasks.worker_tasks()` (found by core.discovery)."""
    from poplist.core.discovery import domain_modules

    return [task for module in domain_modules("tasks") for task in module.worker_tasks()]


def run(stop: threading.Event, tasks: list[Task] | None = None, idle_sleep: float = 0.5) -> None:
    from django.db import close_old_connections

    from poplist.exchange.readonly import is_standby

    tasks = tasks if tasks is not None else default_tasks()
    while not stop.is_set():
        if is_standby():  # a standby sends nothing and schedules nothing until it is promoted
            stop.wait(idle_sleep)
            continue
        busy = 0
        now = time.monotonic()
        for task in tasks:
            if task.every and now - task.last < task.every:
                continue
            task.last = now
            try:
                busy += task.run() or 0
            except Exception:  # one failing task must not stop the others; it is retried next turn
                log.exception("worker task %r failed", task.name)
                close_old_connections()
                busy = 0
        if not busy:
            stop.wait(idle_sleep)


def run_until_signalled() -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("worker started")
    run(stop)
    log.info("worker stopped")
