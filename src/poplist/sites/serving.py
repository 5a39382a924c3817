"""Serving sites by Host header, in front of Django's WSGI application (wsgi.py wraps it).

Per request: one dict lookup for the hostname, a read of the generation counter through a shared
mapping of its file (a deploy, a rollback or a suspension on this machine is seen at the next
request; the database's Generation row, polled every second, carries changes made on other
machines), then the file from the deploy's folder on disk (small bodies from memory). Memory is
bounded: hostnames seen, and two caches capped in entries and bytes that key on immutable deploys.

The hot path makes no system call: under granian each one releases the GIL, and the thread
switches that follow cost more than the Python around them. Measured with bench/sites.py (small
page, wrk -c16, one granian worker): a stat of the generation file per request, the ETag and
header tuples built per request and Accept-Encoding parsed per request took 38 µs of CPU a request;
without them 31 µs (the WSGI app itself: 3.7 µs in process; the rest is granian and the kernel).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import threading
import time
import unicodedata
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

from django.conf import settings

from poplist.sites import cache, rules
from poplist.sites.paths import CONTROL_FILES, content_type

MAX_HOSTS = 50_000
MAX_FILES = 20_000
MAX_BODY = 2 * 1024**2  # bodies up to this size are kept in memory…
MAX_BODIES = 64 * 1024**2  # …up to this much in all
POLL = 1.0
METHODS = ("GET", "HEAD")
_MISSING = object()


class Entry:
    __slots__ = ("active", "deploy_id", "deploy_key", "headers", "redirects", "root", "site_id")

    def __init__(self, site_id: int, deploy_id: int | None, deploy_key: str, active: bool) -> None:
        self.site_id, self.deploy_id, self.deploy_key, self.active = site_id, deploy_id, deploy_key, active
        self.root = ""
        self.redirects: list[rules.Redirect] = []
        self.headers: list[rules.HeaderRule] = []


class File:
    """One servable variant: where it is on disk and its validators."""

    __slots__ = ("base", "body", "ctype", "encoding", "etag", "fs_path", "modified", "mtime", "size")

    def __init__(self, fs_path: str, info: os.stat_result, ctype: str, encoding: str) -> None:
        self.fs_path, self.ctype, self.encoding = fs_path, ctype, encoding
        self.size, self.mtime = info.st_size, int(info.st_mtime)
        self.etag = f'"{self.mtime:x}-{self.size:x}"'  # nginx's form: the same files give the same ETag
        self.modified = formatdate(self.mtime, usegmt=True)
        self.body: bytes | None = None
        self.base: tuple[tuple[str, str], ...] = ()  # the response headers, made once (see _variants)


class LocalGeneration:
    """This machine's `generation` counter (cache.touch_generation), read through a shared mapping.

    A read is a memory access; `reopen` (once a poll) stats the file and maps it again when it was
    replaced or made anew (a wiped cache), or falls back to its identity when it cannot be mapped.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.identity: tuple = ()
        self.map: mmap.mmap | None = None

    def reopen(self) -> None:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            self.map, self.identity = None, ()
            return
        identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns if info.st_size < 8 else 0)
        if identity == self.identity:
            return
        mapped = None
        if info.st_size >= 8:
            with contextlib.suppress(OSError, ValueError), open(self.path, "rb") as handle:
                mapped = mmap.mmap(handle.fileno(), 8, access=mmap.ACCESS_READ)
        # Never closed here: a thread may be reading the old one; it goes with its last reference.
        self.map, self.identity = mapped, identity

    def read(self) -> bytes | tuple:
        mapped = self.map
        return mapped[:8] if mapped is not None else self.identity


class SiteServer:
    def __init__(self, django_app) -> None:
        self.django_app = django_app
        self.sites_domain = "." + settings.SITES_DOMAIN.lower()
        self.hosts: dict[str, Entry | None] = {}
        self.files: dict[tuple, tuple[File, ...] | None] = {}
        self.body_bytes = 0
        self.lock = threading.Lock()
        self.generation = LocalGeneration(str(cache.generation_file()))
        self.local_generation: bytes | tuple | None = None
        self.db_generation = -1
        self.next_poll = 0.0

    # --- the hostname map ------------------------------------------------------------------------

    def refresh(self) -> None:
        now = time.monotonic()
        if now >= self.next_poll:
            self.next_poll = now + POLL
            self.generation.reopen()
            from poplist.sites.models import Generation

            _db_ready()
            value = Generation.objects.values_list("value", flat=True).first() or 0
            if value != self.db_generation:
                self.db_generation = value
                self.hosts = {}
        local = self.generation.read()
        if local != self.local_generation:
            self.local_generation = local
            self.hosts = {}

    def entry(self, host: str) -> Entry | None:
        found = self.hosts.get(host, _MISSING)
        if found is not _MISSING:
            return found
        from poplist.sites.models import Hostname

        _db_ready()
        row = (
            Hostname.objects.filter(name=host)
            .values_list(
                "site_id", "site__live_deploy_id", "site__live_deploy__key", "site__tenant__status", "verified_at"
            )
            .first()
        )
        entry = None
        if row is not None and row[4] is None:  # a custom domain not proven yet: the host's 404, no content
            entry = Entry(row[0], None, "", True)
        elif row is not None:
            entry = Entry(row[0], row[1], row[2] or "", row[3] == "active")
            if entry.deploy_id is not None and entry.active:
                self.load_deploy(entry)
        if len(self.hosts) >= MAX_HOSTS:  # names from the network are unbounded: start again
            self.hosts = {}
        self.hosts[host] = entry
        return entry

    def load_deploy(self, entry: Entry) -> None:
        _db_ready()
        entry.root = str(cache.materialise_id(entry.deploy_id, entry.deploy_key))
        for name, parse, attr in (
            ("_redirects", rules.parse_redirects, "redirects"),
            ("_headers", rules.parse_headers, "headers"),
        ):
            try:
                text = Path(entry.root, name).read_text("utf-8")
            except FileNotFoundError:
                continue
            # Checked at deploy time; a file that no longer parses is a bug, not a reason for a 500.
            with contextlib.suppress(rules.BadRules):
                setattr(entry, attr, parse(text))

    # --- WSGI ------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")
        if host.endswith("]"):
            pass  # IPv6 literal without a port
        elif ":" in host:
            host = host.rsplit(":", 1)[0]
        host = host.lower().rstrip(".")
        self.refresh()
        entry = self.entry(host)
        if entry is None:
            if host.endswith(self.sites_domain):
                return self.notice(environ, start_response, 404)
            return self.django_app(environ, start_response)
        if not entry.active:
            return self.notice(environ, start_response, 503)
        if entry.deploy_id is None:
            return self.notice(environ, start_response, 404)
        if environ["REQUEST_METHOD"] not in METHODS:
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")])
            return [b""]
        try:
            return self.serve(entry, environ, start_response)
        except FileNotFoundError:  # the disk cache was wiped under us: rebuild it and try once more
            self.files = {}
            self.body_bytes = 0
            self.load_deploy(entry)
            return self.serve(entry, environ, start_response)

    def serve(self, entry: Entry, environ, start_response):
        try:
            path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8")
        except UnicodeError:
            return self.not_found(entry, environ, start_response)
        if not path.isascii():
            path = unicodedata.normalize("NFC", path)
        if entry.redirects:
            forced = rules.match_redirect(entry.redirects, path, forced=True)
            if forced:
                return self.apply_rule(entry, environ, start_response, path, *forced)
        found = self.lookup(entry, path)
        if isinstance(found, str):  # a folder without its slash
            return self.redirect(environ, start_response, 301, found)
        if found is not None:
            return self.respond(entry, environ, start_response, path, found, 200)
        if entry.redirects:
            matched = rules.match_redirect(entry.redirects, path, forced=False)
            if matched:
                return self.apply_rule(entry, environ, start_response, path, *matched)
        return self.not_found(entry, environ, start_response)

    def apply_rule(self, entry, environ, start_response, path, rule: rules.Redirect, target: str):
        if rule.status in (301, 302):
            query = environ.get("QUERY_STRING")
            if query and "?" not in target:
                target += "?" + query
            return self.redirect(environ, start_response, rule.status, target)
        found = self.lookup(entry, target.split("?", 1)[0])
        if found is None or isinstance(found, str):
            return self.not_found(entry, environ, start_response)
        return self.respond(entry, environ, start_response, path, found, rule.status)

    def lookup(self, entry: Entry, path: str) -> tuple[File, ...] | str | None:
        """The variants of the file that answers `path` (index.html, clean URLs), a redirect, or None."""
        key = (entry.deploy_id, path)
        found = self.files.get(key, _MISSING)
        if found is not _MISSING:
            return found
        found = self._find(entry.root, path)
        with self.lock:
            if len(self.files) >= MAX_FILES:
                self.files = {}
                self.body_bytes = 0
            self.files[key] = found
        return found

    def _find(self, root: str, path: str) -> tuple[File, ...] | str | None:
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") or "\x00" in p for p in parts):
            return None
        relative = "/".join(parts)
        if path.endswith("/") or not relative:
            candidates = [f"{relative}/index.html" if relative else "index.html"]
        else:
            if relative in CONTROL_FILES:
                return None
            candidates = [relative, relative + ".html"]
        for candidate in candidates:
            full = os.path.join(root, candidate)
            try:
                info = os.stat(full)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISREG(info.st_mode):
                return self._variants(full, info, content_type(candidate))
        if not path.endswith("/") and relative and os.path.isfile(os.path.join(root, relative, "index.html")):
            return path + "/"
        if not os.path.isdir(root):
            raise FileNotFoundError(root)
        return None

    @staticmethod
    def _variants(full: str, info: os.stat_result, ctype: str) -> tuple[File, ...]:
        """The file and its precompressed variants, found beside the blob the deploy's link points to."""
        variants = [File(full, info, ctype, "")]
        with contextlib.suppress(OSError):
            blob = os.readlink(full)
            for suffix, encoding in ((".br", "br"), (".gz", "gzip")):
                with contextlib.suppress(FileNotFoundError):
                    variants.append(File(blob + suffix, os.stat(blob + suffix), ctype, encoding))
        common = (_header("Content-Type", ctype), _ACCEPT_RANGES, _CACHE_CONTROL)
        if len(variants) > 1:
            common += (_VARY,)
        for variant in variants:  # (the constant pairs are shared: ~200 bytes a cached file)
            variant.base = (*common, ("ETag", variant.etag), ("Last-Modified", variant.modified))
            if variant.encoding:
                variant.base += (_header("Content-Encoding", variant.encoding),)
        return tuple(variants)

    # --- responses -------------------------------------------------------------------------------

    def respond(self, entry, environ, start_response, path, variants: tuple[File, ...], status: int):
        ranged = environ.get("HTTP_RANGE") if status == 200 else None
        chosen = variants[0]
        if len(variants) > 1 and not ranged:
            accepted = _accepted(environ.get("HTTP_ACCEPT_ENCODING", ""))
            for variant in variants[1:]:
                if variant.encoding in accepted:
                    chosen = variant
                    break
        headers = list(chosen.base)
        if entry.headers:
            custom = rules.headers_for(entry.headers, path)
            if custom:
                names = {name.lower() for name, _value in custom}
                headers = [h for h in headers if h[0].lower() not in names] + custom
        if status == 200 and _not_modified(environ, chosen):
            start_response("304 Not Modified", headers)
            return [b""]
        start, end = 0, chosen.size
        if ranged and _if_range_ok(environ, chosen):
            span = _parse_range(ranged, chosen.size)
            if span == "unsatisfiable":
                start_response(
                    "416 Range Not Satisfiable", [("Content-Range", f"bytes */{chosen.size}"), ("Content-Length", "0")]
                )
                return [b""]
            if span is not None:
                start, end = span
                headers.append(("Content-Range", f"bytes {start}-{end - 1}/{chosen.size}"))
                status = 206
        headers.append(("Content-Length", str(end - start)))
        body = b"" if environ["REQUEST_METHOD"] == "HEAD" else self.body(chosen)  # may raise: before start_response
        start_response(_STATUS[status], headers)
        return [body if not body or (start, end) == (0, chosen.size) else body[start:end]]

    def body(self, file: File) -> bytes:
        if file.body is not None:
            return file.body
        with open(file.fs_path, "rb") as handle:
            data = handle.read()
        if len(data) <= MAX_BODY and self.body_bytes + len(data) <= MAX_BODIES:
            with self.lock:
                self.body_bytes += len(data)
            file.body = data
        return data

    def not_found(self, entry: Entry, environ, start_response):
        page = self.lookup(entry, "/404.html")
        if page is not None and not isinstance(page, str):
            return self.respond(entry, environ, start_response, "/404.html", page, 404)
        return self.notice(environ, start_response, 404)

    @staticmethod
    def redirect(environ, start_response, status: int, location: str):
        start_response(_STATUS[status], [("Location", location), ("Content-Length", "0")])
        return [b""]

    @staticmethod
    def notice(environ, start_response, status: int):
        from poplist.sites.notices import render_notice

        body = render_notice(status, environ.get("HTTP_ACCEPT_LANGUAGE", ""))
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
        if status == 503:
            headers.append(("Retry-After", "3600"))
        headers.append(("Cache-Control", "no-store"))
        start_response(_STATUS[status], headers)
        return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]


_ACCEPT_RANGES = ("Accept-Ranges", "bytes")
_CACHE_CONTROL = ("Cache-Control", "public, max-age=0, must-revalidate")
_VARY = ("Vary", "Accept-Encoding")
_HEADERS: dict[tuple[str, str], tuple[str, str]] = {}


def _header(name: str, value: str) -> tuple[str, str]:
    """One shared pair per content type or encoding (there are a few dozen)."""
    return _HEADERS.setdefault((name, value), (name, value))


_STATUS = {
    200: "200 OK",
    206: "206 Partial Content",
    301: "301 Moved Permanently",
    302: "302 Found",
    404: "404 Not Found",
    503: "503 Service Unavailable",
}


def _db_ready() -> None:
    """Requests served here bypass Django's handler, so do its connection housekeeping."""
    from django.db import close_old_connections, connection

    if not connection.in_atomic_block:  # (tests run inside a transaction)
        close_old_connections()


_ACCEPTED: dict[str, frozenset[str]] = {}


def _accepted(header: str) -> frozenset[str]:
    """The codings an Accept-Encoding header accepts (remembered: browsers send a handful of forms)."""
    found = _ACCEPTED.get(header)
    if found is None:
        if len(_ACCEPTED) >= 1000:  # headers from the network are unbounded
            _ACCEPTED.clear()
        found = _ACCEPTED[header] = _parse_accepted(header)
    return found


def _parse_accepted(header: str) -> frozenset[str]:
    out = set()
    for item in header.split(","):
        name, _sep, params = item.strip().partition(";")
        if params.replace(" ", "").startswith("q=0") and params.replace(" ", "").rstrip("0.") in ("q=", "q=0"):
            continue
        out.add(name.strip().lower())
    return frozenset(out)


def _not_modified(environ, file: File) -> bool:
    match = environ.get("HTTP_IF_NONE_MATCH")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        return "*" in tags or file.etag in tags
    since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if since:
        try:
            return int(parsedate_to_datetime(since).timestamp()) >= file.mtime
        except (TypeError, ValueError):
            return False
    return False


def _if_range_ok(environ, file: File) -> bool:
    condition = environ.get("HTTP_IF_RANGE")
    return condition is None or condition.strip() in (file.etag, file.modified)


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """A single byte range as (start, end exclusive); None to ignore it (serve the whole file)."""
    unit, _sep, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                return "unsatisfiable"
            return max(size - length, 0), size
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if start >= size or end <= start:
        return "unsatisfiable"
    return start, min(end, size)


def wrap(django_app):
    """The WSGI application: sites by Host header, Django for everything else."""
    return SiteServer(django_app)
