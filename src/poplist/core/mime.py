"""Parsing mail that may be broken, without ever raising on bad input.

Every domain that reads mail (inbound, archive, bounces, importers) parses it here.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage, Message

import nh3

# The default policy gives EmailMessage objects with decoded headers; it records defects
# instead of raising when it parses, but some accessors raise on garbage: see header_text.
POLICY = email.policy.default.clone(max_line_length=998)


def parse_message(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=POLICY)


# Headers the default policy parses into structure (addresses, dates, parameters): always decoded by it.
_STRUCTURED = frozenset(POLICY.header_factory.registry) - {"subject"}
_PLAIN = re.compile(r"[ -~\t]*\Z")  # printable ASCII and tabs: nothing to unfold or decode
_CLEAN_ID = re.compile(r"<[\w!#$%&'*+/=?^`{|}~-]+(\.[\w!#$%&'*+/=?^`{|}~-]+)*@[\w-]+(\.[\w-]+)*>\Z", re.ASCII)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDR = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_ITEM = rf"(?:{_ATOM}(?: {_ATOM})* <{_ADDR}>|{_ADDR})"
# `Name <a@b>, c@d` with nothing to quote, unfold or decode: the default policy renders it as written.
_CLEAN_ADDRESSES = re.compile(rf"{_ITEM}(?:, {_ITEM})*\Z")
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply-to", "sender"})


def header_text(message: Message, name: str, default: str = "") -> str:
    """A header's decoded value, or `default` when it is missing or cannot be decoded.

    A plain ASCII unstructured header (or a clean Message-ID or address list) decodes to itself: it is returned
    as stored, without the default policy's parser (~50 µs a header; 40% of an accepted post's
    header reading, measured by bench/inbound.py). tests/inbound/test_mime_fast.py checks both agree.
    """
    if isinstance(message.policy, email.policy.EmailPolicy):
        key = name.lower()
        for found, value in message.raw_items():
            if found.lower() == key:
                plain = "=?" not in value and _PLAIN.match(value)
                if plain and (
                    key not in _STRUCTURED
                    or (key == "message-id" and _CLEAN_ID.match(value))
                    or (key in _ADDRESS_HEADERS and _CLEAN_ADDRESSES.match(value))
                ):
                    return value
                break
        else:
            return default
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
    """The message's readable text (first text/plain, else text/html stripped) and whether it has attachments.

    The parts are read under compat32: Content-Type, -Disposition and -Transfer-Encoding are then
    split as strings instead of going through the default policy's header parser, which the
    classic accessors used here reparse on every call (288 µs -> 18 µs for one text part).
    """
    parts = list(message.walk())
    policies = [part.policy for part in parts]
    try:
        for part in parts:
            part.policy = email.policy.compat32
        return _plain_text_of(parts, limit)
    finally:
        for part, policy in zip(parts, policies, strict=True):
            part.policy = policy


def _plain_text_of(parts: list[Message], limit: int) -> tuple[str, bool]:
    plain: str | None = None
    html: str | None = None
    attachments = False
    for part in parts:
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
