"""Reading archives as other list servers leave them, mbox traps included (docs/importing.md says what each does).

- Separator lines are recognised as Mailman's `cleanarch` does: `From ` + address + an
  asctime date (with an optional zone before the year, as Gmail and Vault write it), and
  the next line must be a header. Any other line starting `From ` is body text that the
  writer forgot to escape: it stays in its message (counted as `unescaped_from_lines`).
  A file whose separators are all odd (no date) falls back to `From ` after a blank line
  followed by a header (counted as `loose_separators`).
- Everything is read as bytes, so separator lines and headers in Latin-1, KOI8-R or broken
  UTF-8 never stop an import.
- `>From ` lines are unquoted by one level (mboxrd); the blank line that ends each message
  in an mbox is the separator's, not the message's, and is dropped.
- Messages are stored with CRLF line ends, as live posts are.
- gzip-compressed files (HyperKitty's export) are read transparently.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from poplist.portability.dates import parse_date
from poplist.portability.records import ArchiveSource

SEPARATOR = re.compile(
    rb"From \s*(\S+)\s+(\w\w\w\s+\w\w\w\s+\d?\d\s+\d?\d:\d\d(?::\d\d)?(?:\s+\S+)?\s+\d\d\d\d)\s*\S*\s*$"
)
LOOSE_SEPARATOR = re.compile(rb"From \S")
HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_LINE_END = re.compile(rb"\r?\n")


Opener = Callable[[], BinaryIO]


def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, uncompressed when it is gzip."""
    return ungzip(open(path, "rb"))


def ungzip(stream: BinaryIO) -> BinaryIO:
    magic = stream.read(2)
    stream.seek(0)
    return gzip.GzipFile(fileobj=stream) if magic == b"\x1f\x8b" else stream


def path_opener(path: Path) -> Opener:
    return lambda: open_binary(path)


def mbox_archive(path: Path) -> ArchiveSource:
    """The mbox (or gzip'd mbox) at `path` as an archive to import."""
    stats: dict[str, int] = {}
    return ArchiveSource(str(path), lambda: read_mbox(path_opener(path), stats), stats)


def read_mbox(opener: Opener, stats: dict[str, int]) -> Iterator[tuple[bytes, datetime | None]]:
    """Each message of the mbox `opener()` reads, as (raw bytes with CRLF, the separator line's date)."""
    with opener() as stream:
        strict = any(_is_separator(line, nxt) for line, nxt in _pairs(stream))
    with opener() as stream:
        yield from _split(stream, strict, stats)


def _pairs(stream: BinaryIO) -> Iterator[tuple[bytes, bytes | None]]:
    """Each line with the one after it (None at the end)."""
    line = stream.readline()
    while line:
        nxt = stream.readline()
        yield line, nxt or None
        line = nxt


def _is_separator(line: bytes, nxt: bytes | None) -> bool:
    return line.startswith(b"From ") and SEPARATOR.match(line) is not None and _looks_like_header(nxt)


def _looks_like_header(line: bytes | None) -> bool:
    return line is not None and HEADER_LINE.match(line) is not None


def _split(stream: BinaryIO, strict: bool, stats: dict[str, int]) -> Iterator[tuple[bytes, datetime | None]]:
    current: list[bytes] | None = None
    date: datetime | None = None
    previous_blank = True
    for line, nxt in _pairs(stream):
        if line.startswith(b"From ") and _starts_message(line, nxt, strict, previous_blank):
            if current is not None:
                yield from _finish(current, date, stats)
            current, date = [], _separator_date(line)
            if not strict:
                _bump(stats, "loose_separators")
        elif current is None:
            if line.strip():
                _bump(stats, "lines_before_first_message")
        else:
            if line.startswith(b"From "):
                _bump(stats, "unescaped_from_lines")
            current.append(line)
        previous_blank = not line.strip()
    if current is not None:
        yield from _finish(current, date, stats)


def _starts_message(line: bytes, nxt: bytes | None, strict: bool, previous_blank: bool) -> bool:
    if strict:
        return _is_separator(line, nxt)
    return previous_blank and LOOSE_SEPARATOR.match(line) is not None and _looks_like_header(nxt)


def _separator_date(line: bytes) -> datetime | None:
    match = SEPARATOR.match(line)
    return parse_date(match.group(2)) if match else None


def _finish(
    lines: list[bytes], date: datetime | None, stats: dict[str, int]
) -> Iterator[tuple[bytes, datetime | None]]:
    if lines and not lines[-1].strip():
        lines.pop()  # the blank line before the next separator belongs to the mbox, not the message
    raw = b"".join(lines)
    if not raw.strip():
        _bump(stats, "empty_messages")
        return
    unquoted, count = QUOTED_FROM.subn(rb"\1", raw)
    if count:
        _bump(stats, "unquoted_from_lines", count)
    body = _LINE_END.sub(b"\r\n", unquoted)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    _bump(stats, "messages_read")
    yield body, date


def read_message_files(paths: list[Path], stats: dict[str, int]) -> Iterator[tuple[bytes, datetime | None]]:
    """One message per file (Sympa's arctxt/N, maildir-like exports), in the order given."""
    for path in paths:
        with open_binary(path) as stream:
            raw = stream.read()
        if raw.startswith(b"From ") and b"\n" in raw:
            _first, _, rest = raw.partition(b"\n")
            if _looks_like_header(rest.split(b"\n", 1)[0] + b"\n"):
                raw = rest  # a stray mbox separator on a single-message file
        if not raw.strip():
            _bump(stats, "empty_messages")
            continue
        body = _LINE_END.sub(b"\r\n", raw)
        _bump(stats, "messages_read")
        yield body, None


def _bump(stats: dict[str, int], key: str, n: int = 1) -> None:
    stats[key] = stats.get(key, 0) + n
