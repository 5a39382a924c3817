"""The worker loop's schedule."""

from __future__ import annotations

import threading

from poplist.runtime import worker
from poplist.runtime.worker import Task


def test_a_task_runs_at_once_even_on_a_machine_up_for_less_than_its_interval(monkeypatch, db):
    monkeypatch.setattr(worker.time, "monotonic", lambda: 5.0)  # booted five seconds ago
    stop = threading.Event()
    runs = []

    def hourly() -> int:
        runs.append(1)
        stop.set()
        return 0

    thread = threading.Thread(target=worker.run, args=(stop, [Task("hourly", hourly, every=3600)], 0.01))
    thread.start()
    thread.join(5)
    stop.set()
    assert runs == [1]
