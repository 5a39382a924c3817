"""The inbound package's scheduled work in `poplist worker`."""

from __future__ import annotations

from poplist.runtime.worker import Task


def worker_tasks() -> list[Task]:
    from poplist.inbound.archiving import archive_pending
    from poplist.inbound.moderation import expire_held

    return [
        Task("archive accepted posts", archive_pending, every=1.0),
        Task("expire held messages", expire_held, every=300),
    ]
