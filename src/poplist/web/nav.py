"""The console's navigation: every domain's tabs, found by discovery, so a new domain's pages appear by themselves.

A domain declares in `<domain>/views.py`:
  CONSOLE_TABS = [(label, "url-name-taking-the-list-address")]   tabs of one list's console
  TENANT_TABS  = [(label, "url-name-without-arguments")]          the owner's top navigation
  ADMIN_TABS   = [(label, "url-name-without-arguments")]          the host admins' navigation
A tab whose URL name does not resolve is skipped (a domain half-merged never breaks the console).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from django.urls import NoReverseMatch, reverse

from poplist.core.discovery import domain_modules

KINDS = ("CONSOLE_TABS", "TENANT_TABS", "ADMIN_TABS")


@dataclass(frozen=True)
class Tab:
    label: str
    url: str
    name: str
    current: bool = False


@cache
def declared(kind: str) -> tuple[tuple[object, str], ...]:
    """(label, url name) of every domain's tabs of one kind, web's own first."""
    if kind not in KINDS:
        raise ValueError(kind)
    modules = sorted(domain_modules("views"), key=lambda module: module.__name__ != "poplist.web.views")
    found: list[tuple[object, str]] = []
    for module in modules:
        for label, name in getattr(module, kind, ()) or ():
            found.append((label, name))
    return tuple(found)


def tabs(kind: str, *args: str, path: str = "") -> list[Tab]:
    """The tabs of one kind with their URLs; `args` is the list address for CONSOLE_TABS.

    The tab whose URL is the longest prefix of `path` is the current one.
    """
    resolved: list[Tab] = []
    for label, name in declared(kind):
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:
            continue
        resolved.append(Tab(str(label), url, name))
    matching = [tab for tab in resolved if path.startswith(tab.url)]
    if matching:
        best = max(matching, key=lambda tab: len(tab.url))
        resolved = [Tab(t.label, t.url, t.name, t is best) for t in resolved]
    return resolved
