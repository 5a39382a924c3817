"""Parsing mail that may be broken, without ever raising on bad input.

Every domain that reads mail (inbound, archive, bounces, importers) parses it here.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage, Message

import nh3

# The default policy gives EmailMessage objects with decoded headers; it records defects
# instead of raising when it parses, but some accessors raise on garbage: see header_text.
POLICY = email.policy.default.clone(max_line_length=998)


def parse_message(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=POLICY)


def header_text(message: Message, name: str, default: str = "") -> str:
    """A header's decoded value, or `default` when it is missing or cannot be decoded."""
    try:
        value = message.get(name)
    except Exception:  # the header parser raises a variety of errors on hostile input
        return default
    if value is None:
        return default
    try:
        return str(value)
    except Exception:
        return default


def part_text(part: Message) -> str:
    """A text part's content decoded with its charset; unknown or wrong charsets degrade to replacement chars."""
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def html_to_text(html: str) -> str:
    return " ".join(nh3.clean(html, tags=set(), strip_comments=True).split())


def plain_text_of(message: Message, limit: int = 200_000) -> tuple[str, bool]:
    """The message's readable text (first text/plain, else text/html stripped) and whether it has attachments."""
    plain: str | None = None
    html: str | None = None
    attachments = False
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        content_type = part.get_content_type()
        if disposition == "attachment" or not content_type.startswith("text/"):
            attachments = attachments or content_type not in {
                "application/pgp-signature",
                "application/pkcs7-signature",
            }
            continue
        if content_type == "text/plain" and plain is None:
            plain = part_text(part)
        elif content_type == "text/html" and html is None:
            html = part_text(part)
    text = plain if plain is not None else html_to_text(html) if html is not None else ""
    return text[:limit], attachments
