"""Exchange's periodic work in `poplist worker`: pruning the change log that standbys have read."""

from __future__ import annotations

from poplist.runtime.worker import Task


def worker_tasks() -> list[Task]:
    from poplist.exchange.pruning import prune

    return [Task("exchange-prune-changes", prune, every=60)]
