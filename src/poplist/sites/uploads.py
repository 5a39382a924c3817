"""Read an upload (a folder, a .zip, a .tar.gz) into {path: bytes}, refusing anything hostile.

Every limit is checked while reading, not trusted from headers: an archive that claims small
sizes and expands past them is stopped at the limit. Nothing is written anywhere here.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput, QuotaExceeded
from poplist.sites.paths import BadPath, check_case_clashes, clean_path

CHUNK = 1 << 16
BOMB_FLOOR = 1 << 20  # below 1 MiB expanded, a high ratio is just a compressible file


@dataclass(frozen=True)
class Limits:
    max_files: int
    max_bytes: int
    max_file_bytes: int
    max_ratio: int = 100  # expanded / compressed, beyond which an archive is a bomb


class Collector:
    """Accumulates files while enforcing the limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.files: dict[str, bytes] = {}
        self.total = 0

    def add(self, raw_name: str | bytes, stream: IO[bytes]) -> None:
        path = clean_path(raw_name)
        if path in self.files:
            raise BadPath(_("The file %(name)s appears twice."), name=path)
        if len(self.files) >= self.limits.max_files:
            raise QuotaExceeded(_("The upload has more than %(count)s files."), count=self.limits.max_files)
        parts, size = [], 0
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > self.limits.max_file_bytes:
                raise QuotaExceeded(
                    _("The file %(name)s is larger than %(size)s bytes."), name=path, size=self.limits.max_file_bytes
                )
            if self.total + size > self.limits.max_bytes:
                raise QuotaExceeded(
                    _("The upload expands past the site's quota of %(size)s bytes."), size=self.limits.max_bytes
                )
            parts.append(chunk)
        self.total += size
        self.files[path] = b"".join(parts)

    def done(self, compressed_size: int | None = None) -> dict[str, bytes]:
        bomb = compressed_size is not None and self.total > max(BOMB_FLOOR, compressed_size * self.limits.max_ratio)
        if bomb:
            raise _bomb(self.limits)
        check_case_clashes(list(self.files))
        return self.files


def _bomb(limits: Limits) -> InvalidInput:
    return InvalidInput(
        _("The archive expands more than %(ratio)s times its size: refused as a zip bomb."), ratio=limits.max_ratio
    )


def read_upload(source: str | Path | IO[bytes], limits: Limits, name: str = "") -> dict[str, bytes]:
    """Files of a folder, a zip or a tar(.gz) archive (by path, or an open binary file for archives)."""
    if isinstance(source, str | Path):
        path = Path(source)
        if path.is_dir():
            return read_folder(path, limits)
        if not path.is_file():
            raise InvalidInput(_("%(path)s is neither a folder nor an archive."), path=str(path))
        with open(path, "rb") as handle:
            return read_archive(handle, limits, name or path.name)
    return read_archive(source, limits, name)


def read_archive(handle: IO[bytes], limits: Limits, name: str = "") -> dict[str, bytes]:
    if zipfile.is_zipfile(handle):
        handle.seek(0)
        return read_zip(handle, limits)
    handle.seek(0)
    try:
        return read_tar(handle, limits)
    except tarfile.TarError:
        raise InvalidInput(_("%(name)s is not a zip or tar archive."), name=name or "the upload") from None


def read_zip(handle: IO[bytes], limits: Limits) -> dict[str, bytes]:
    collector = Collector(limits)
    try:
        archive = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput(_("The zip archive is damaged.")) from None
    compressed = 0
    with archive:
        for info in archive.infolist():
            raw: str | bytes = info.filename
            if not info.flag_bits & 0x800:  # no UTF-8 flag: zipfile decoded cp437; get the bytes back
                raw = info.orig_filename.encode("cp437", "replace")
            if info.is_dir():
                clean_path(raw.rstrip(b"/") if isinstance(raw, bytes) else raw.rstrip("/"))
                continue
            mode = info.external_attr >> 16
            if info.create_system == 3 and stat.S_IFMT(mode):
                _refuse_special(mode, info.filename)
            if info.file_size > BOMB_FLOOR and info.file_size > max(info.compress_size, 1) * limits.max_ratio:
                raise _bomb(limits)
            compressed += info.compress_size
            try:
                with archive.open(info) as stream:
                    collector.add(raw, stream)
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
                raise InvalidInput(_("The zip archive is damaged (%(reason)s)."), reason=str(exc)) from None
    return collector.done(compressed)


def read_tar(handle: IO[bytes], limits: Limits) -> dict[str, bytes]:
    collector = Collector(limits)
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(0)
    with tarfile.open(fileobj=handle, mode="r:*") as archive:
        for member in archive:
            if member.issym() or member.islnk():
                raise BadPath(_("%(name)s is a link; links are not allowed in a site."), name=_printable(member.name))
            if member.isdir():
                continue
            if not member.isfile():
                raise BadPath(_("%(name)s is a device or special file."), name=_printable(member.name))
            stream = archive.extractfile(member)
            collector.add(member.name, stream)
    return collector.done(size)


def read_folder(root: Path, limits: Limits) -> dict[str, bytes]:
    collector = Collector(limits)
    root_bytes = os.fsencode(root)
    for top, dirs, files in os.walk(root_bytes, followlinks=False):
        for name in sorted(dirs) + sorted(files):
            full = os.path.join(top, name)
            relative = os.path.relpath(full, root_bytes)
            info = os.lstat(full)
            if stat.S_ISLNK(info.st_mode):
                raise BadPath(_("%(name)s is a link; links are not allowed in a site."), name=_printable(relative))
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise BadPath(_("%(name)s is a device or special file."), name=_printable(relative))
            if info.st_nlink > 1:
                raise BadPath(_("%(name)s is a hard link; links are not allowed in a site."), name=_printable(relative))
            with open(full, "rb") as stream:
                collector.add(relative, stream)
    return collector.done()


def _refuse_special(mode: int, name: str) -> None:
    if stat.S_ISLNK(mode):
        raise BadPath(_("%(name)s is a link; links are not allowed in a site."), name=name)
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise BadPath(_("%(name)s is a device or special file."), name=name)


def _printable(name: str | bytes) -> str:
    if isinstance(name, bytes):
        return name.decode("utf-8", "replace")
    return name.encode("utf-8", "replace").decode("utf-8")
