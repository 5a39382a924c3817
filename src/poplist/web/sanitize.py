"""Showing mail safely: HTML only through nh3 with an allow-list, no remote content, addresses hidden."""

from __future__ import annotations

import re

import nh3

# Tags a mail's HTML needs to be readable; no forms, scripts, frames, styles or media.
TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "abbr": {"title"}}
URL_SCHEMES = {"http", "https", "mailto"}
_ADDRESS = re.compile(r"([\w.!#$%&'*+/=?^`{|}~-]+)@([\w-]+(?:\.[\w-]+)+)", re.UNICODE)


def clean_html(html: str) -> str:
    """Mail HTML made safe to embed: allow-listed tags, no attributes that run or fetch anything.

    Images are dropped (a remote image tells the sender who read the mail and when).
    Links get rel="noopener noreferrer nofollow".
    """
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        clean_content_tags={
            "script",
            "style",
            "title",
            "head",
            "template",
            "noscript",
            "iframe",
            "object",
            "svg",
            "math",
        },
    )


def obfuscate_address(address: str) -> str:
    """ann@example.org -> ann at example.org (harvesters look for an @)."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local} at {domain}"


def obfuscate_text(text: str) -> str:
    """Every address inside a text: 'ann@example.org' -> 'ann at example…'."""
    return _ADDRESS.sub(lambda m: f"{m.group(1)} at {m.group(2).split('.')[0]}…", text)
