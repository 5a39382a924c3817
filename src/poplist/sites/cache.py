"""The disk cache: deploys materialised from the database's blobs, rebuilt by itself when missing.

    DATA_DIR/sites/blobs/ab/<sha256>[.gz|.br]   each blob's bytes (mtime = when the blob was stored)
    DATA_DIR/sites/deploys/<id>-<key>/PATH      symlinks to blobs, plus PATH.gz / PATH.br variants
    DATA_DIR/sites/live/<site name>             symlink to the live deploy (what nginx serves)
    DATA_DIR/sites/generation                   touched after every change that moves a hostname

A deploy folder appears at once (built aside, then renamed), so a reader sees all of it or none.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings

from poplist.sites.models import Blob, Deploy, Site

FETCH = 200


_made: set[str] = set()


def root() -> Path:
    path = Path(settings.DATA_DIR) / "sites"
    if str(path) not in _made:  # one mkdir per process, not one per file (it showed in profiles)
        path.mkdir(parents=True, exist_ok=True)
        _made.add(str(path))
    return path


def deploy_dir(deploy_id: int, key: str) -> Path:
    return root() / "deploys" / f"{deploy_id}-{key}"


def live_link(site_name: str) -> Path:
    return root() / "live" / site_name


def generation_file() -> Path:
    return root() / "generation"


def touch_generation() -> None:
    path = generation_file()
    try:
        path.touch()
    except FileNotFoundError:  # the cache was wiped while this process ran
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    os.utime(path, ns=(time.time_ns(), time.time_ns()))


def _blob_path(sha: str, base: Path | None = None) -> Path:
    return (base or root()) / "blobs" / sha[:2] / sha


def _write(path: Path, data: bytes, mtime: float) -> None:
    """Write aside then rename: a reader never sees half a blob. (Five syscalls: metadata is the cost.)"""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # 0644: nginx's workers read it
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.utime(fd, (mtime, mtime))
    finally:
        os.close(fd)
    os.replace(tmp, path)


def ensure_blobs(shas: set[str]) -> None:
    """Write the blobs this machine lacks, from the database (in batches: memory stays flat)."""
    base = root()
    missing = sorted(sha for sha in shas if not os.path.exists(_blob_path(sha, base)))
    for start in range(0, len(missing), FETCH):
        rows = Blob.objects.filter(sha256__in=missing[start : start + FETCH]).values_list(
            "sha256", "content", "gzip", "brotli", "created_at"
        )
        for sha, content, gz, br, created in rows:
            mtime = int(created.timestamp())  # same Last-Modified/ETag on every machine
            path = _blob_path(sha, base)
            if gz is not None:
                _write(path.with_name(sha + ".gz"), bytes(gz), mtime)
            if br is not None:
                _write(path.with_name(sha + ".br"), bytes(br), mtime)
            _write(path, bytes(content), mtime)


def materialise(deploy: Deploy) -> Path:
    """The deploy's folder, built if missing."""
    target = deploy_dir(deploy.id, deploy.key)
    if target.is_dir():
        return target
    manifest = deploy.manifest
    ensure_blobs({entry["sha256"] for entry in manifest.values()})
    target.parent.mkdir(parents=True, exist_ok=True)
    building = tempfile.mkdtemp(dir=target.parent, prefix=f".build-{deploy.id}-")
    os.chmod(building, 0o755)
    blobs = str(root() / "blobs")
    folders = {""}
    try:
        for path, entry in manifest.items():
            sha = entry["sha256"]
            blob = f"{blobs}/{sha[:2]}/{sha}"
            link = f"{building}/{path}"
            folder = path.rpartition("/")[0]
            if folder not in folders:
                os.makedirs(f"{building}/{folder}", exist_ok=True)
                folders.add(folder)
            os.symlink(blob, link)
            # nginx's gzip_static and brotli_static look for PATH.gz and PATH.br beside the file (unless
            # the site has a file by that name); Poplist finds both variants from the link's target.
            for suffix in (".gz", ".br"):
                variant = blob + suffix
                if path + suffix not in manifest and os.path.exists(variant):
                    os.symlink(variant, link + suffix)
        os.rename(building, target)
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
        if not target.is_dir():  # another process won the race: theirs is as good
            raise
    return target


def materialise_id(deploy_id: int, key: str) -> Path:
    target = deploy_dir(deploy_id, key)
    if target.is_dir():
        return target
    return materialise(Deploy.objects.get(pk=deploy_id))


def point_live(site: Site) -> None:
    """Move the site's live link (read by nginx) to its live deploy, atomically."""
    link = live_link(site.name)
    link.parent.mkdir(parents=True, exist_ok=True)
    if site.live_deploy_id is None:
        link.unlink(missing_ok=True)
        return
    target = materialise(Deploy.objects.only("id", "key", "manifest").get(pk=site.live_deploy_id))
    tmp = link.with_name(f".tmp-{site.name}-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    os.replace(tmp, link)


def publish(site: Site) -> None:
    """After a commit that changed what a site serves: update this machine's cache and tell its servers."""
    point_live(site)
    touch_generation()


def sync_all() -> int:
    """Every live deploy materialised and linked (a machine that joins, or a cache that was wiped)."""
    count = 0
    sites = Site.objects.filter(live_deploy__isnull=False).values_list(
        "id", "name", "live_deploy_id", "live_deploy__key"
    )
    for site_id, name, deploy_id, key in sites.iterator():
        if os.path.realpath(live_link(name)) != str(deploy_dir(deploy_id, key)):
            point_live(Site(id=site_id, name=name, live_deploy_id=deploy_id))
            count += 1
    return count
