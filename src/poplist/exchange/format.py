"""The open export format on disk: a folder of JSON Lines and mbox files, described by manifest.json.

docs/export-format.md is the reference. The writer keeps the sha256, size and record count
of every file it writes and writes manifest.json last; the reader checks every file against
the manifest before anything is imported, and refuses paths that could leave the folder.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput

FORMAT_NAME = "poplist-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_SAFE_PART = re.compile(r"^[A-Za-z0-9._@+=-]{1,200}$")
_FROM_LINE = re.compile(rb"^>*From ")


def dumps(record: dict[str, Any]) -> bytes:
    """One JSON Lines record: sorted keys and no spaces, so that equal data gives equal bytes."""
    return (
        json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_default).encode("utf-8")
        + b"\n"
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot export {type(value).__name__}")


def check_path(path: str) -> str:
    """A relative POSIX path of plain names: no '..', no absolute path, no odd characters."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or any(p in ("..", ".") or not _SAFE_PART.match(p) for p in parts):
        raise InvalidInput(_("The export contains an unsafe file name: %(path)s."), path=path[:200])
    return path


def safe_name(text: str) -> str:
    """A file name for a list address or a slug (they are already safe; this guards the rest)."""
    cleaned = re.sub(r"[^A-Za-z0-9._@+=-]", "_", text)[:200].lstrip(".")
    return cleaned or "_"


class _HashingFile:
    def __init__(self, root: Path, path: str) -> None:
        self.path = path
        full = root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        self.handle: BinaryIO = open(full, "wb")  # noqa: SIM115 - closed by Writer.close
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.records = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.sha256.update(data)
        self.size += len(data)


class Writer:
    """Writes one export folder. Sections call `record()` and `mbox_message()`; `close()` writes the manifest."""

    def __init__(self, root: Path, *, include_secrets: bool = False, on_record=None) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        if any(self.root.iterdir()):
            raise InvalidInput(_("%(path)s is not empty; export into a new folder."), path=str(root))
        self.include_secrets = include_secrets
        self.files: dict[str, _HashingFile] = {}
        self.tenants: list[dict[str, Any]] = []
        self.on_record = on_record

    def _file(self, path: str) -> _HashingFile:
        found = self.files.get(path)
        if found is None:
            found = self.files[check_path(path)] = _HashingFile(self.root, path)
        return found

    def touch(self, path: str) -> None:
        """An empty file that says "this section has nothing", so readers never guess."""
        self._file(path)

    def record(self, path: str, record: dict[str, Any]) -> None:
        target = self._file(path)
        target.write(dumps(record))
        target.records += 1
        if self.on_record:
            self.on_record()

    def write_file(self, path: str, data: bytes) -> None:
        """A content file (a site's file as uploaded), written whole."""
        target = self._file(path)
        target.write(data)
        target.handle.close()
        target.records = 1
        if self.on_record:
            self.on_record()

    def mbox_message(self, path: str, raw: bytes, sender: str, date: datetime) -> tuple[int, int]:
        """Append one message in mboxrd quoting; returns (offset, length) of the quoted message."""
        target = self._file(path)
        stamp = date.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
        target.write(f"From {sender or 'MAILER-DAEMON'} {stamp}\n".encode())
        offset = target.size
        quoted = quote_mboxrd(raw)
        target.write(quoted)
        target.write(b"\n")  # the blank line before the next From_ line
        target.records += 1
        if self.on_record:
            self.on_record()
        return offset, len(quoted)

    def close(self, *, instance: str, scope: str) -> dict[str, Any]:
        for found in self.files.values():
            if not found.handle.closed:
                found.handle.close()
        manifest = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "instance": instance,
            "created_at": timezone.now().isoformat(),
            "scope": scope,
            "tenants": self.tenants,
            "files": {
                path: {"sha256": f.sha256.hexdigest(), "bytes": f.size, "records": f.records}
                for path, f in sorted(self.files.items())
            },
        }
        (self.root / MANIFEST).write_bytes(json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
        return manifest


def quote_mboxrd(raw: bytes) -> bytes:
    """mboxrd: every line starting with '>*From ' gets one more '>' (undone exactly by unquote_mboxrd)."""
    lines = raw.split(b"\n")
    return b"\n".join(b">" + line if _FROM_LINE.match(line) else line for line in lines)


def unquote_mboxrd(quoted: bytes) -> bytes:
    lines = quoted.split(b"\n")
    return b"\n".join(line[1:] if line.startswith(b">") and _FROM_LINE.match(line[1:]) else line for line in lines)


class Reader:
    """Reads a checked export folder. `verify()` must pass before anything else is read."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            self.manifest = json.loads((root / MANIFEST).read_bytes())
        except FileNotFoundError:
            raise InvalidInput(
                _("%(path)s has no manifest.json: it is not a Poplist export."), path=str(root)
            ) from None
        except ValueError:
            raise InvalidInput(_("manifest.json is not valid JSON.")) from None
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != FORMAT_NAME:
            raise InvalidInput(_("manifest.json does not describe a Poplist export."))
        if self.manifest.get("version") != FORMAT_VERSION:
            raise InvalidInput(
                _("This export is in format version %(version)s; this Poplist reads version %(supported)s."),
                version=self.manifest.get("version"),
                supported=FORMAT_VERSION,
            )
        self.files: dict[str, dict[str, Any]] = self.manifest.get("files") or {}
        for path in self.files:
            check_path(path)

    def verify(self, on_bytes=None) -> None:
        """Every file listed is present with its size and sha256, and no file is unlisted."""
        present = {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file() or p.is_symlink()}
        present.discard(MANIFEST)
        for path in sorted(present - set(self.files)):
            raise InvalidInput(_("%(path)s is in the export but not in its manifest."), path=path)
        for path, meta in self.files.items():
            full = self.root / path
            if full.is_symlink() or not full.is_file():
                raise InvalidInput(_("%(path)s is listed in the manifest but missing."), path=path)
            digest = hashlib.sha256()
            with open(full, "rb") as handle:
                while chunk := handle.read(1 << 20):
                    digest.update(chunk)
                    if on_bytes:
                        on_bytes(len(chunk))
            if digest.hexdigest() != meta.get("sha256"):
                raise InvalidInput(_("The checksum of %(path)s does not match the manifest."), path=path)

    def has(self, path: str) -> bool:
        return path in self.files

    def records(self, path: str) -> Iterator[dict[str, Any]]:
        if path not in self.files:
            return
        with open(self.root / path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    record = json.loads(line)
                except ValueError:
                    raise InvalidInput(_("Line %(line)s of %(path)s is not JSON."), line=number, path=path) from None
                if not isinstance(record, dict):
                    raise InvalidInput(_("Line %(line)s of %(path)s is not an object."), line=number, path=path)
                yield record

    def open_binary(self, path: str) -> BinaryIO:
        return open(self.root / check_path(path), "rb")


def mbox_message(handle: BinaryIO, offset: int, length: int) -> bytes:
    handle.seek(offset)
    return unquote_mboxrd(handle.read(length))


def new_instance_id() -> str:
    return str(uuid.uuid4())
