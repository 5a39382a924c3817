"""The delivery package's work in `poplist worker`: notices, post batches, retries, digests."""

from __future__ import annotations

from poplist.runtime.worker import Task


def worker_tasks() -> list[Task]:
    from poplist.delivery import claims, digests, engine
    from poplist.delivery.services import send_queued
    from poplist.delivery.transport import default_transport, post_transport

    transport = default_transport()
    posts = post_transport()
    prepared = engine.Prepared()
    return [
        Task("send queued messages", lambda: send_queued(transport)),
        Task("resume and pause delivery jobs", claims.sync_paused, every=2.0),
        Task("send delivery batches", lambda: engine.run_once(posts, prepared)),
        Task("retry deferred copies", lambda: engine.send_retries(posts, prepared), every=5.0),
        Task("queue due digests", digests.send_due_digests, every=60.0),
    ]
