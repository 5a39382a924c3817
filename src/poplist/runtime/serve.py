"""`poplist serve`: every component in one command, each in its own process, restarted if it dies."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Component:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    starts: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.starts = [t for t in self.starts if time.monotonic() - t < 60] + [time.monotonic()]
        self.process = subprocess.Popen([sys.executable, "-m", "poplist", *self.argv])


def supervise(components: list[Component]) -> int:
    """Start every component; restart one that dies (at most 5 times a minute); stop all on a signal."""
    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for component in components:
        component.start()
    try:
        while not stopping:
            time.sleep(0.2)
            for component in components:
                code = component.process.poll()
                if code is None or stopping:
                    continue
                if len(component.starts) >= 5:
                    log.error("%s keeps dying (exit %s); stopping", component.name, code)
                    stopping = True
                    return 1
                log.warning("%s exited with %s; restarting", component.name, code)
                component.start()
        return 0
    finally:
        for component in components:
            if component.process and component.process.poll() is None:
                component.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for component in components:
            if component.process:
                try:
                    component.process.wait(max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    os.kill(component.process.pid, signal.SIGKILL)
