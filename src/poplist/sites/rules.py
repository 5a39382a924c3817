"""`_redirects` and `_headers` in Netlify's syntax (the subset documented in docs/sites.md).

_redirects: one rule a line, `FROM TO [STATUS][!]`; STATUS 301 (default), 302, 200 (a rewrite:
the visitor's address stays) or 404; `*` at the end of FROM is the splat (`:splat` in TO);
`:name` segments are placeholders. A rule applies when no file answers the path, unless forced
with `!`. _headers: a path pattern on its own line, then indented `Name: value` lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput

MAX_RULES = 1000
STATUSES = {200, 301, 302, 404}
_PLACEHOLDER = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
FORBIDDEN_HEADERS = {"content-length", "transfer-encoding", "connection", "content-encoding", "content-range"}


class BadRules(InvalidInput):
    code = "bad_rules"


@dataclass(frozen=True)
class Redirect:
    source: str
    pattern: re.Pattern
    target: str
    status: int
    force: bool
    line: int


@dataclass(frozen=True)
class HeaderRule:
    source: str
    pattern: re.Pattern
    headers: tuple[tuple[str, str], ...]


def pattern_regex(source: str) -> re.Pattern:
    """`/news/:year/*` -> a regex with named groups `year` and `splat`."""
    out, rest = [], source
    if rest.endswith("*"):
        rest = rest[:-1]
    for index, segment in enumerate(rest.split("/")):
        if index:
            out.append("/")
        match = _PLACEHOLDER.fullmatch(segment)
        out.append(f"(?P<{match.group(1)}>[^/]+)" if match else re.escape(segment))
    regex = "".join(out)
    if source.endswith("*"):
        regex += "(?P<splat>.*)"
    return re.compile(f"^{regex}$")


def parse_redirects(text: str) -> list[Redirect]:
    rules = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) not in (2, 3):
            raise BadRules(_("_redirects line %(line)s: expected FROM TO [STATUS]."), line=number)
        source, target = parts[0], parts[1]
        status_text = parts[2] if len(parts) == 3 else "301"
        force = status_text.endswith("!")
        status_text = status_text.rstrip("!")
        if not source.startswith("/"):
            raise BadRules(_("_redirects line %(line)s: FROM must start with /."), line=number)
        if not (target.startswith("/") or re.match(r"^https?://[^\s/]+", target)):
            raise BadRules(_("_redirects line %(line)s: TO must be a path or an http(s) URL."), line=number)
        if not status_text.isdigit() or int(status_text) not in STATUSES:
            raise BadRules(_("_redirects line %(line)s: the status must be 200, 301, 302 or 404."), line=number)
        status = int(status_text)
        if status in (200, 404) and not target.startswith("/"):
            raise BadRules(_("_redirects line %(line)s: a rewrite goes to a path of the site."), line=number)
        try:
            regex = pattern_regex(source)
        except re.error:
            raise BadRules(_("_redirects line %(line)s: the same placeholder appears twice."), line=number) from None
        names = set(regex.groupindex)
        for used in _PLACEHOLDER.findall(target):
            if used not in names:
                raise BadRules(_("_redirects line %(line)s: :%(name)s is not in FROM."), line=number, name=used)
        rules.append(Redirect(source, regex, target, status, force, number))
        if len(rules) > MAX_RULES:
            raise BadRules(_("_redirects has more than %(count)s rules."), count=MAX_RULES)
    return rules


def parse_headers(text: str) -> list[HeaderRule]:
    rules: list[HeaderRule] = []
    source, headers = None, []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.strip().startswith("#"):
            continue
        if not raw[0].isspace():
            if source is not None:
                rules.append(HeaderRule(source, pattern_regex(source), tuple(headers)))
            source, headers = raw.strip(), []
            if not source.startswith("/"):
                raise BadRules(_("_headers line %(line)s: a path pattern must start with /."), line=number)
            continue
        if source is None:
            raise BadRules(_("_headers line %(line)s: a header before any path pattern."), line=number)
        name, colon, value = raw.strip().partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not _HEADER_NAME.match(name) or any(c in value for c in "\r\n\x00"):
            raise BadRules(_("_headers line %(line)s: expected Name: value."), line=number)
        if name.lower() in FORBIDDEN_HEADERS:
            raise BadRules(_("_headers line %(line)s: %(name)s cannot be set."), line=number, name=name)
        headers.append((name, value))
    if source is not None:
        rules.append(HeaderRule(source, pattern_regex(source), tuple(headers)))
    if len(rules) > MAX_RULES:
        raise BadRules(_("_headers has more than %(count)s rules."), count=MAX_RULES)
    return rules


def expand(target: str, groups: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: groups.get(m.group(1)) or "", target)


def match_redirect(rules: list[Redirect], path: str, forced: bool) -> tuple[Redirect, str] | None:
    for rule in rules:
        if rule.force != forced:
            continue
        found = rule.pattern.match(path)
        if found:
            return rule, expand(rule.target, found.groupdict())
    return None


def headers_for(rules: list[HeaderRule], path: str) -> list[tuple[str, str]]:
    out = []
    for rule in rules:
        if rule.pattern.match(path):
            out.extend(rule.headers)
    return out
