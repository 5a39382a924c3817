"""The disk cache: deploys materialised from the database's blobs, rebuilt by itself when missing.

    DATA_DIR/sites/blobs/ab/<sha256>[.gz|.br]   each blob's bytes (mtime = when the blob was stored)
    DATA_DIR/sites/trees/<hash>/NAME            one folder of a deploy: symlinks to blobs (plus NAME.gz /
                                                NAME.br variants) and to its subfolders' trees; shared by
                                                every deploy with the same folder (hash of its names and blobs)
    DATA_DIR/sites/deploys/<id>-<key>           symlink to the deploy's top folder in trees/
    DATA_DIR/sites/live/<site name>             symlink to the live deploy (what nginx serves)
    DATA_DIR/sites/generation                   rewritten in place after every change that moves a hostname

A folder appears at once (built aside, then renamed, after its subfolders), so a reader sees all
of a deploy or none of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings

from poplist.sites.models import Blob, Deploy, Site

FETCH = 200
TREE_FORMAT = "poplist-tree-1"  # change it when a folder's layout changes: every folder is then rebuilt


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
    """Tell this machine's servers that a hostname moved: a new value written in place in `generation`.

    In place (not a new file): servers read it through a shared mapping of the file, a memory read
    per request instead of a stat (see serving.Generation)."""
    path = generation_file()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:  # the cache was wiped while this process ran
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, time.time_ns().to_bytes(8, "little"), 0)
    finally:
        os.close(fd)


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


def _layout(manifest: dict) -> dict[str, dict[str, str | None]]:
    """{folder: {name: sha256, or None for a subfolder}}; "" is the top folder."""
    folders: dict[str, dict[str, str | None]] = {"": {}}
    for path, entry in manifest.items():
        parent = ""
        for name in path.split("/")[:-1]:
            folder = f"{parent}/{name}" if parent else name
            folders[parent][name] = None
            folders.setdefault(folder, {})
            parent = folder
        folders[parent].setdefault(path.rpartition("/")[2], entry["sha256"])  # a folder by that name wins
    return folders


def _tree_hashes(folders: dict[str, dict[str, str | None]]) -> dict[str, str]:
    """Each folder's content address: the same names and bytes give the same folder, in any deploy of any site."""
    hashes: dict[str, str] = {}
    for folder in sorted(folders, key=lambda f: -f.count("/") - bool(f)):  # deepest first
        lines = [TREE_FORMAT]
        for name, sha in sorted(folders[folder].items()):
            child = f"{folder}/{name}" if folder else name
            lines.append(f"{name}\0{sha if sha is not None else '/' + hashes[child]}")
        hashes[folder] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return hashes


def materialise(deploy: Deploy) -> Path:
    """The deploy's folder, built if missing: `deploys/<id>-<key>`, a link to its top folder in `trees/`.

    Folders are content-addressed and shared: a theme used by 2,000 sites is one folder of links,
    and a redeploy that changes one file rebuilds only the folders on that file's path. Each folder
    is built aside and renamed into place, children first, so a reader sees all of it or nothing.
    """
    target = deploy_dir(deploy.id, deploy.key)
    if target.is_dir():
        return target
    base = root()
    folders = _layout(deploy.manifest)
    hashes = _tree_hashes(folders)
    trees = base / "trees"
    todo = [f for f in folders if not os.path.isdir(f"{trees}/{hashes[f]}")]
    ensure_blobs({sha for f in todo for sha in folders[f].values() if sha is not None})
    if todo:
        trees.mkdir(parents=True, exist_ok=True)
    blobs = f"{base}/blobs"
    for folder in sorted(todo, key=lambda f: -f.count("/") - bool(f)):  # children before parents
        entries = folders[folder]
        building = tempfile.mkdtemp(dir=trees, prefix=".build-")
        os.chmod(building, 0o755)
        try:
            for name, sha in entries.items():
                if sha is None:
                    child = f"{folder}/{name}" if folder else name
                    os.symlink(f"{trees}/{hashes[child]}", f"{building}/{name}")
                    continue
                blob = f"{blobs}/{sha[:2]}/{sha}"
                os.symlink(blob, f"{building}/{name}")
                # nginx's gzip_static and brotli_static look for NAME.gz and NAME.br beside the file (unless
                # the site has a file by that name); Poplist finds both variants from the link's target.
                for suffix in (".gz", ".br"):
                    if name + suffix not in entries and os.path.exists(blob + suffix):
                        os.symlink(blob + suffix, f"{building}/{name}{suffix}")
            os.rename(building, f"{trees}/{hashes[folder]}")
        except OSError:
            shutil.rmtree(building, ignore_errors=True)
            if not os.path.isdir(f"{trees}/{hashes[folder]}"):  # another process won the race: theirs is as good
                raise
    target.parent.mkdir(parents=True, exist_ok=True)
    link = f"{target.parent}/.link-{deploy.id}-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(link)
    os.symlink(f"{trees}/{hashes['']}", link)
    os.replace(link, target)
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
        link = live_link(name)
        try:
            current = os.readlink(link)
        except OSError:
            current = ""
        if current != str(deploy_dir(deploy_id, key)) or not link.is_dir():
            point_live(Site(id=site_id, name=name, live_deploy_id=deploy_id))
            count += 1
    return count
