"""The delivery package's work in `poplist worker`."""

from __future__ import annotations

from poplist.runtime.worker import Task


def worker_tasks() -> list[Task]:
    from poplist.delivery.services import send_queued
    from poplist.delivery.transport import default_transport

    transport = default_transport()
    return [Task("send queued messages", lambda: send_queued(transport))]
