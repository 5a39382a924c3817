"""The lists package's scheduled work in `poplist worker`."""

from __future__ import annotations

from poplist.runtime.worker import Task


def worker_tasks() -> list[Task]:
    from poplist.lists.subscriptions import expire_pending

    return [Task("expire pending requests", expire_pending, every=60)]
