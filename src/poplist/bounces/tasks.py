"""The bounce processor's scheduled work in `poplist worker`."""

from __future__ import annotations

from poplist.runtime.worker import Task


def worker_tasks() -> list[Task]:
    from poplist.bounces.services import decay_scores, run_due_steps, send_due_reports

    return [
        Task("bounce warnings and removals", run_due_steps, every=300),
        Task("bounce score decay", decay_scores, every=3600),
        Task("owners' bounce reports", send_due_reports, every=3600),
    ]
