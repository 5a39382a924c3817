"""The sites package's work in `poplist worker`: keep this machine's disk cache and nginx file current,
check pending custom domains in the DNS, collect unused blobs (hourly, in a thread of its own)."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import threading

from poplist.runtime.worker import Task

log = logging.getLogger(__name__)


class CacheKeeper:
    """When the Generation row moves (a deploy, a rollback, a hostname, a suspension, on any machine):
    materialise live deploys here, move the live links, and rewrite the nginx file if one is configured."""

    def __init__(self) -> None:
        self.seen: int | None = None

    def __call__(self) -> int:
        from poplist import config
        from poplist.sites.cache import sync_all
        from poplist.sites.models import Generation

        value = Generation.objects.values_list("value", flat=True).first() or 0
        if value == self.seen:
            return 0
        changed = sync_all()
        target = config.get("sites_nginx_config")
        if target:
            changed += write_nginx_config(target, config.get("sites_nginx_reload"))
        self.seen = value
        return changed


def write_nginx_config(target: str, reload_command: str) -> int:
    """Rewrite `target` when the configuration changed, then reload nginx; 1 when it did."""
    from poplist.sites.nginx import options_of, render_config

    try:
        with open(target) as handle:
            current = handle.read()
    except FileNotFoundError:
        current = ""
    text = render_config(**options_of(current))
    if text == current:
        return 0
    tmp = f"{target}.tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, target)
    if reload_command:
        done = subprocess.run(shlex.split(reload_command), capture_output=True, text=True, timeout=60)
        if done.returncode:
            log.error("%s failed: %s", reload_command, done.stderr.strip())
    return 1


def check_domains() -> int:
    from poplist.sites.domains import check_due

    return check_due()


class BackgroundCollector:
    """`sites gc` in a thread of its own, started by the worker's hourly task.

    A run over thousands of sites takes minutes (every manifest marked, every blob and the disk
    cache walked: 4.6 s for 300 sites in bench/sites.py), and the worker's other tasks (sending,
    this machine's cache and nginx file) must not wait for it. The thread has its own database
    connection; gc's writes are short transactions (a site's prune, a batch of 500 blobs), so
    they queue behind the others' at most that long. One run at a time: a turn that finds the last
    run still going skips. A worker stopped mid-run loses nothing: each batch is a transaction and
    the next run starts over.
    """

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None

    def __call__(self) -> int:
        if self.thread is not None and self.thread.is_alive():
            return 0
        self.thread = threading.Thread(target=self.collect, name="sites gc", daemon=True)
        self.thread.start()
        return 0  # an hourly chore: never a reason for the loop to skip its sleep

    @staticmethod
    def collect() -> None:
        from django.db import connection

        from poplist.sites.gc import collect

        try:
            report = collect()
            if report.blobs_deleted or report.deploys_pruned or report.folders_removed:
                log.info("sites gc: %s", report.as_dict())
        except Exception:
            log.exception("sites gc failed")
        finally:
            connection.close()  # this thread's own


def worker_tasks() -> list[Task]:
    return [
        Task("sites cache and nginx file", CacheKeeper(), every=2),
        Task("sites custom domain checks", check_domains, every=60),
        Task("sites garbage collection", BackgroundCollector(), every=3600),
    ]
