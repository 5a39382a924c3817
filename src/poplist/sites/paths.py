"""Paths inside a site: one normal form, refusals for hostile names, content types."""

from __future__ import annotations

import mimetypes
import posixpath
import unicodedata

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput

MAX_PATH = 1024
# Files that configure the site: kept in the deploy (and its export), never served.
CONTROL_FILES = {"_redirects", "_headers"}

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".md": "text/markdown; charset=utf-8",
}
# Worth compressing: text; images, fonts and archives are compressed already.
COMPRESSIBLE = ("text/", "application/json", "application/xml", "image/svg+xml", "application/manifest+json")


class BadPath(InvalidInput):
    code = "bad_path"


def content_type(path: str) -> str:
    ext = posixpath.splitext(path)[1].lower()
    if ext in _TYPES:
        return _TYPES[ext]
    guessed = mimetypes.guess_type(path, strict=False)[0]
    return guessed or "application/octet-stream"


def is_compressible(ctype: str) -> bool:
    return ctype.startswith(COMPRESSIBLE)


def clean_path(raw: str | bytes) -> str:
    """The site path for a name from an upload, or BadPath saying why it is refused."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadPath(_("The file name %(name)s is not UTF-8."), name=raw.decode("utf-8", "replace")) from None
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # surrogate escapes: bytes that were not UTF-8 on disk or in a tar
        raise BadPath(_("The file name %(name)s is not UTF-8."), name=raw.encode("utf-8", "replace").decode()) from None
    if raw.startswith(("/", "\\")) or (len(raw) > 1 and raw[1] == ":"):
        raise BadPath(_("The file name %(name)s is an absolute path."), name=raw)
    if "\\" in raw or "\x00" in raw or any(unicodedata.category(c) == "Cc" for c in raw):
        raise BadPath(_("The file name %(name)s contains a forbidden character."), name=raw)
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BadPath(_("The file name %(name)s goes outside the site (..)."), name=raw)
    path = "/".join(parts)
    if not path:
        raise BadPath(_("An empty file name is not allowed."))
    if len(path.encode()) > MAX_PATH:
        raise BadPath(_("The file name %(name)s is too long."), name=path[:80])
    return unicodedata.normalize("NFC", path)


def check_case_clashes(paths: list[str]) -> None:
    """Two names differing only by case would overwrite each other on many disks: refuse them."""
    seen: dict[str, str] = {}
    for path in paths:
        key = path.casefold()
        if key in seen and seen[key] != path:
            raise BadPath(
                _("The file names %(first)s and %(second)s differ only by case."), first=seen[key], second=path
            )
        seen[key] = path
