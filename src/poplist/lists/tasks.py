"""The lists package's scheduled work in `poplist worker`."""

from __future__ import annotations

from poplist.runtime.worker import Task


def worker_tasks() -> list[Task]:
    from poplist.lists.import_jobs import run_queued_imports
    from poplist.lists.oneclick import send_departure_notices
    from poplist.lists.subscriptions import expire_pending

    return [
        Task("expire pending requests", expire_pending, every=60),
        Task("run queued member imports", run_queued_imports, every=1),
        Task("goodbye mails of one-click departures", send_departure_notices, every=1),
    ]
