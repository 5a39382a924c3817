"""A held post made safe to show a moderator: text first, HTML only through nh3, no remote images."""

from __future__ import annotations

from dataclasses import dataclass, field

import nh3

from poplist.core.mime import header_text, part_text
from poplist.inbound.post import parse

# No img (remote images would tell the sender who looked), no links' targets beyond http(s)/mailto.
_TAGS = {
    "p",
    "br",
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ul",
    "ol",
    "li",
    "blockquote",
    "pre",
    "code",
    "a",
    "table",
    "tr",
    "td",
    "th",
    "thead",
    "tbody",
    "h1",
    "h2",
    "h3",
    "h4",
    "div",
    "span",
    "hr",
}
_TEXT_LIMIT = 100_000


@dataclass
class View:
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""
    html: str = ""  # sanitised; shown only when there is no text part
    attachments: list[tuple[str, str, int]] = field(default_factory=list)  # (name, type, size)
    problem: str = ""


def clean_html(html: str) -> str:
    return nh3.clean(
        html[:_TEXT_LIMIT],
        tags=_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def readable(raw: bytes) -> View:
    message, problem = parse(raw)
    view = View(problem=problem)
    if message is None:
        view.text = raw[:_TEXT_LIMIT].decode("utf-8", "replace")
        return view
    for name in ("From", "To", "Cc", "Subject", "Date", "Message-ID"):
        view.headers[name] = header_text(message, name)
    html = None
    try:
        parts = list(message.walk())
    except Exception:
        parts = []
    for part in parts[:1000]:
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if disposition != "attachment" and content_type == "text/plain" and not view.text:
            view.text = part_text(part)[:_TEXT_LIMIT]
        elif disposition != "attachment" and content_type == "text/html" and html is None:
            html = part_text(part)
        elif disposition == "attachment" or not content_type.startswith("text/"):
            payload = part.get_payload(decode=True) or b""
            view.attachments.append((part.get_filename() or "", content_type, len(payload)))
    if not view.text and html is not None:
        view.html = clean_html(html)
    return view
