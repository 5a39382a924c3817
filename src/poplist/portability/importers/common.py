"""Helpers the importers share: reading text of unknown charset, CSV columns by name, ZIPs, folders."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput, NotFound
from poplist.delivery.personalize import PREFERENCES_URL, UNSUBSCRIBE_URL

csv.field_size_limit(16 * 1024 * 1024)  # an attributes JSON cell can be large; the default 128 KiB is not enough

PREFERENCES = PREFERENCES_URL.decode("ascii")
UNSUBSCRIBE = UNSUBSCRIBE_URL.decode("ascii")


def decode_text(value: bytes | str, charset: str = "utf-8") -> str:
    """Text in UTF-8 when it is, else in the source's charset, else Latin-1 (which never fails)."""
    if isinstance(value, str):
        return value
    for candidate in ("utf-8", charset):
        try:
            return value.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return value.decode("latin-1")


def list_page_url(address: str) -> str:
    return f"{settings.BASE_URL}/lists/{address}/"


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise NotFound(_("%(what)s %(path)s does not exist or is not a file."), what=what, path=str(path))
    return path


def require_path(path: Path, what: str) -> Path:
    if not path.exists():
        raise NotFound(_("%(what)s %(path)s does not exist."), what=what, path=str(path))
    return path


def column_key(name: str) -> str:
    """'Email Address', 'email_address' and 'E-mail address' all compare equal."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def find_column(header: list[str], *names: str) -> int | None:
    keys = [column_key(column) for column in header]
    for name in names:
        if column_key(name) in keys:
            return keys.index(column_key(name))
    return None


def csv_rows(data: bytes, *, name: str) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row by header name) for a CSV in UTF-8 (with or without BOM) or, failing that, Latin-1."""
    text = data.decode("utf-8-sig") if _is_utf8(data) else data.decode("latin-1")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InvalidInput(
            _("%(name)s is not a CSV file Poplist can read: %(error)s."), name=name, error=str(exc)
        ) from None
    header = [column.strip() for column in header]
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            yield reader.line_num, dict(zip(header, row, strict=False))
    except csv.Error as exc:
        raise InvalidInput(
            _("%(name)s, line %(line)s: %(error)s; nothing was imported."),
            name=name,
            line=reader.line_num,
            error=str(exc),
        ) from None


def _is_utf8(data: bytes) -> bool:
    try:
        codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


def get(row: dict[str, str], *names: str) -> str:
    """The first non-empty value among columns with these names (compared as column_key does)."""
    keyed = {column_key(key): value for key, value in row.items() if key is not None}
    for name in names:
        value = keyed.get(column_key(name))
        if value is not None and value.strip():
            return value.strip()
    return ""


def files_of(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of each file in a ZIP, a folder (recursively) or a single file."""
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            yield str(child.relative_to(path)), child.read_bytes()
        return
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                for info in sorted(archive.infolist(), key=lambda i: i.filename):
                    if not info.is_dir():
                        yield info.filename, archive.read(info)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InvalidInput(
                _("%(path)s is a damaged ZIP file: %(error)s."), path=str(path), error=str(exc)
            ) from None
        return
    yield path.name, path.read_bytes()
