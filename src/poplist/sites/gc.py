"""Garbage collection: blobs no deploy keeps any more are deleted, and the disk cache follows.

1. Prune: each site keeps its live deploy and its last N ready ones (POPLIST_SITES_KEEP_DEPLOYS);
   older ones become `pruned` (history: number, date, size; no manifest, no rollback). A pending
   API deploy left unfinished for a day becomes `failed`.
2. Mark: every sha256 in a manifest of a ready or pending deploy.
3. Sweep: blobs neither marked nor younger than the grace period (a deploy stores its blobs
   before it commits its manifest) are deleted, in batches, each under `services.gc_lock` after
   re-reading the manifests of deploys made since the mark: a deploy is never left without a blob.
4. This machine's disk cache: links of deploys no longer kept, folders (trees) no kept deploy
   reaches, files of blobs no longer stored.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput
from poplist.sites import cache, services
from poplist.sites.models import Blob, Deploy, Site

GRACE = timedelta(hours=1)
PENDING_TTL = timedelta(days=1)
BATCH = 500
KEPT = (Deploy.Status.READY, Deploy.Status.PENDING)


@dataclass
class Report:
    dry_run: bool = False
    deploys_pruned: int = 0
    pending_expired: int = 0
    blobs_deleted: int = 0
    bytes_freed: int = 0
    folders_removed: int = 0
    files_removed: int = 0

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def keep_setting() -> int:
    from poplist import config

    return int(config.get("sites_keep_deploys"))


def collect(*, keep: int | None = None, grace: timedelta = GRACE, dry_run: bool = False) -> Report:
    """Prune, mark, sweep, then tidy this machine's disk cache; with `dry_run`, only count."""
    keep = keep_setting() if keep is None else keep
    if keep < 1:
        raise InvalidInput(_("A site keeps at least 1 deploy."))
    report = Report(dry_run=dry_run)
    now = timezone.now()
    dropped = _prune(keep, now, dry_run, report)
    watermark = Deploy.objects.aggregate(n=Max("id"))["n"] or 0
    marked = _mark(Deploy.objects.filter(status__in=KEPT).exclude(pk__in=dropped))
    candidates = _unmarked(marked, now - grace)
    if dry_run:
        report.blobs_deleted = len(candidates)
        report.bytes_freed = sum(candidates.values())
    else:
        _sweep(candidates, watermark, now - grace, report)
    _tidy_disk(report, dry_run, dropped, set(candidates) if dry_run else set())
    return report


def _prune(keep: int, now, dry_run: bool, report: Report) -> set[int]:
    """Deploys past the ones each site keeps, and pending ones abandoned: their ids (marked unless dry)."""
    dropped: set[int] = set()
    stale = Deploy.objects.filter(status=Deploy.Status.PENDING, created_at__lt=now - PENDING_TTL)
    dropped.update(stale.values_list("id", flat=True))
    report.pending_expired = len(dropped)
    if not dry_run and dropped:
        stale.filter(pk__in=dropped).update(
            status=Deploy.Status.FAILED, manifest={}, error="Never finalised.", finished_at=now
        )
    crowded = (
        Deploy.objects.filter(status=Deploy.Status.READY)
        .values("site_id")
        .annotate(n=Count("id"))
        .filter(n__gt=keep)
        .values_list("site_id", flat=True)
    )
    for site_id in list(crowded):
        with transaction.atomic():
            services._lock(Site.objects.filter(pk=site_id))  # a rollback waits, then sees the deploy pruned
            live = Site.objects.filter(pk=site_id).values_list("live_deploy_id", flat=True).first()
            ready = Deploy.objects.filter(site_id=site_id, status=Deploy.Status.READY).order_by("-number")
            old = [pk for pk in ready.values_list("id", flat=True)[keep:] if pk != live]
            if old and not dry_run:
                Deploy.objects.filter(pk__in=old).update(status=Deploy.Status.PRUNED, manifest={})
        dropped.update(old)
        report.deploys_pruned += len(old)
    return dropped


def _mark(deploys) -> set[bytes]:
    """The sha256 (as 32 bytes: half the memory of hex) of every file of these deploys."""
    marked: set[bytes] = set()
    for manifest in deploys.values_list("manifest", flat=True).iterator(chunk_size=200):
        marked.update(bytes.fromhex(entry["sha256"]) for entry in (manifest or {}).values())
    return marked


def _unmarked(marked: set[bytes], cutoff) -> dict[str, int]:
    """Blobs older than `cutoff` that no manifest names: {sha256: size}, walked in key order."""
    found: dict[str, int] = {}
    last = ""
    while True:
        page = list(
            Blob.objects.filter(sha256__gt=last, created_at__lt=cutoff)
            .order_by("sha256")
            .values_list("sha256", "size")[:5000]
        )
        if not page:
            return found
        found.update((sha, size) for sha, size in page if bytes.fromhex(sha) not in marked)
        last = page[-1][0]


def _sweep(candidates: dict[str, int], watermark: int, cutoff, report: Report) -> None:
    shas = sorted(candidates)
    for start in range(0, len(shas), BATCH):
        batch = set(shas[start : start + BATCH])
        with transaction.atomic():
            services.gc_lock()  # deploys committing a manifest wait here; those before are seen below
            fresh = Deploy.objects.filter(pk__gt=watermark, status__in=KEPT)
            batch -= {sha.hex() for sha in _mark(fresh)}
            doomed = Blob.objects.filter(sha256__in=batch, created_at__lt=cutoff)
            sizes = dict(doomed.values_list("sha256", "size"))
            Blob.objects.filter(sha256__in=list(sizes)).delete()
        report.blobs_deleted += len(sizes)
        report.bytes_freed += sum(sizes.values())


def _tidy_disk(report: Report, dry_run: bool, dropped: set[int], deleted: set[str]) -> None:
    """This machine's cache: deploys not kept, folders (trees) no kept deploy reaches, files of blobs
    not stored, stale temporaries. (`dropped`, `deleted`: what a dry run would prune and delete.)"""
    base = cache.root()
    old = time.time() - GRACE.total_seconds()
    deploys, trees = base / "deploys", base / "trees"
    entries = _listdir(deploys)  # listed before the query: a deploy's link is made after its commit
    tree_names = _listdir(trees)  # listed before the walk: a tree made since is not judged
    ready = Deploy.objects.filter(status=Deploy.Status.READY).exclude(pk__in=dropped)
    kept = {f"{pk}-{key}" for pk, key in ready.values_list("id", "key")}
    roots = []
    for entry in entries:
        path = deploys / entry
        if entry in kept:
            roots.append(path)
        elif not entry.startswith(".") or _mtime(path) < old:  # .link- / .build- temporaries: when stale
            report.folders_removed += 1
            if not dry_run:
                _remove(path)
    reachable = _reachable(roots, trees)
    for name in tree_names:
        if name not in reachable and _mtime(trees / name) < old:  # a tree not linked yet is young
            report.folders_removed += 1
            if not dry_run:
                _remove(trees / name)
    blobs = base / "blobs"
    for prefix in _listdir(blobs):
        names = _listdir(blobs / prefix)
        stored = set()
        shas = sorted({name.split(".", 1)[0] for name in names if len(name.split(".", 1)[0]) == 64})
        for start in range(0, len(shas), BATCH):
            stored.update(Blob.objects.filter(sha256__in=shas[start : start + BATCH]).values_list("sha256", flat=True))
        stored -= deleted
        for name in names:
            path = blobs / prefix / name
            stale = name.endswith(".tmp") and _mtime(path) < old
            if stale or (not name.endswith(".tmp") and name.split(".", 1)[0] not in stored):
                report.files_removed += 1
                if not dry_run:
                    path.unlink(missing_ok=True)


def _reachable(roots: list[Path], trees: Path) -> set[str]:
    """Names of the trees the kept deploys use, walking links into trees/ (each tree once)."""
    prefix = f"{trees}/"
    todo = []
    for root in roots:
        with contextlib.suppress(OSError):
            todo.append(os.readlink(root))
    seen: set[str] = set()
    while todo:
        tree = todo.pop()
        if not tree.startswith(prefix) or tree[len(prefix) :] in seen:
            continue
        seen.add(tree[len(prefix) :])
        with contextlib.suppress(OSError), os.scandir(tree) as children:
            for child in children:
                if child.is_symlink():
                    target = os.readlink(child.path)
                    if target.startswith(prefix):
                        todo.append(target)
    return seen


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return time.time()
