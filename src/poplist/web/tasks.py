"""Web's periodic work in `poplist worker`: CSV imports left behind by a web process that died."""

from __future__ import annotations

from poplist.runtime.worker import Task


def worker_tasks() -> list[Task]:
    from poplist.web.imports import resume_stale_jobs

    return [Task("web-import-jobs", resume_stale_jobs, every=30)]
