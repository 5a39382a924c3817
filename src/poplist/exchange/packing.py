"""An export folder into a tar (optionally gzip, xz or zstd compressed), and a hostile tar safely back.

Unpacking trusts nothing in the archive: manifest.json must come first; every other member must
be a regular file listed in it, with the size it declares, under a safe relative name (no
'..', no absolute path, no link, no device). The sizes declared must fit on the disk and stay
within MAX_RATIO of the compressed size (a bomb is refused before it is inflated), and
extraction stops as soon as a member writes more than it declared.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput
from poplist.exchange.format import FORMAT_NAME, MANIFEST, check_path

MAX_RATIO = 200  # JSON Lines and mail compress 5-20x; 200x is a bomb
MAX_MANIFEST = 256 * 1024 * 1024
SUFFIXES = {".tar": "", ".tar.gz": "gz", ".tgz": "gz", ".tar.xz": "xz", ".tar.zst": "zst"}


def archive_kind(path: Path) -> str | None:
    """'' (plain tar), 'gz', 'xz' or 'zst' by the file name; None for a folder."""
    name = path.name.lower()
    for suffix, kind in SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    return None


def _zstd():
    try:
        import zstandard
    except ImportError:
        raise InvalidInput(_("Compressing with zstd needs the zstandard package; use .tar.gz instead.")) from None
    return zstandard


def pack(folder: Path, out: BinaryIO, kind: str) -> None:
    """manifest.json first (so a reader can check each member as it streams by), then every file, sorted."""
    names = [MANIFEST, *sorted(json.loads((folder / MANIFEST).read_bytes())["files"])]
    if kind == "zst":
        with _zstd().ZstdCompressor(level=6).stream_writer(out, closefd=False) as stream:
            _write_tar(folder, names, tarfile.open(fileobj=stream, mode="w|"))  # noqa: SIM115 - closed by _write_tar
        return
    _write_tar(folder, names, tarfile.open(fileobj=out, mode=f"w|{kind}"))  # noqa: SIM115 - closed by _write_tar


def _write_tar(folder: Path, names: list[str], tar: tarfile.TarFile) -> None:
    with tar:
        for name in names:
            info = tar.gettarinfo(str(folder / name), arcname=name)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o644
            with open(folder / name, "rb") as handle:
                tar.addfile(info, handle)


@contextmanager
def _open_stream(path: Path, kind: str):
    with open(path, "rb") as raw:
        if kind == "zst":
            with _zstd().ZstdDecompressor().stream_reader(raw) as stream:
                yield tarfile.open(fileobj=stream, mode="r|")  # noqa: SIM115
        else:
            yield tarfile.open(fileobj=raw, mode="r|*")  # noqa: SIM115


def unpack(path: Path, dest: Path, kind: str) -> None:
    """Extract a possibly hostile export archive into the empty folder `dest`, or refuse it."""
    compressed = path.stat().st_size
    try:
        with _open_stream(path, kind) as tar:
            files: dict | None = None
            seen: set[str] = set()
            for member in tar:
                name = member.name.removeprefix("./")
                if member.isdir():
                    check_path(name.rstrip("/"))
                    continue
                if not member.isreg():
                    raise InvalidInput(_("The archive contains %(name)s, which is not a plain file."), name=name[:200])
                check_path(name)
                if files is None:
                    if name != MANIFEST:
                        raise InvalidInput(_("The archive does not start with manifest.json."))
                    files = _read_manifest(tar, member, dest, compressed, kind)
                    continue
                if name not in files or name in seen:
                    raise InvalidInput(_("%(path)s is in the archive but not in its manifest."), path=name)
                if member.size != files[name].get("bytes"):
                    raise InvalidInput(_("%(path)s does not have the size the manifest says."), path=name)
                seen.add(name)
                _extract(tar, member, dest / name)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise
        raise InvalidInput(_("The archive is damaged or not a tar file: %(error)s"), error=str(exc)[:200]) from None
    if files is None:
        raise InvalidInput(_("The archive has no manifest.json."))


def _read_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, compressed: int, kind: str) -> dict:
    if member.size > MAX_MANIFEST:
        raise InvalidInput(_("manifest.json is too large."))
    data = tar.extractfile(member).read()
    try:
        manifest = json.loads(data)
        files = manifest["files"]
        declared = sum(int(meta["bytes"]) for meta in files.values())
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidInput(_("manifest.json does not describe a Poplist export.")) from None
    if manifest.get("format") != FORMAT_NAME:
        raise InvalidInput(_("manifest.json does not describe a Poplist export."))
    if kind and declared > MAX_RATIO * max(compressed, 1024 * 1024):
        raise InvalidInput(
            _("The archive would expand to %(size)s bytes, more than %(ratio)s times its size: refused as a bomb."),
            size=declared,
            ratio=MAX_RATIO,
        )
    free = shutil.disk_usage(dest).free
    if declared > free:
        raise InvalidInput(_("The archive needs %(size)s bytes and only %(free)s are free."), size=declared, free=free)
    (dest / MANIFEST).write_bytes(data)
    return files


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    written = 0
    with open(target, "xb") as handle:
        while chunk := source.read(1 << 20):
            written += len(chunk)
            if written > member.size:
                raise InvalidInput(_("%(path)s is longer than declared."), path=member.name[:200])
            handle.write(chunk)
