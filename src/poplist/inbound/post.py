"""The typed value every rule reads: one incoming post, parsed once, with what we know of its sender."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses

from poplist.core import addresses
from poplist.core.errors import InvalidInput
from poplist.core.mime import header_text, parse_message
from poplist.lists.models import MailingList


@dataclass
class Post:
    mailing_list: MailingList
    raw: bytes
    message: EmailMessage | None  # None when the bytes could not be parsed at all
    mail_from: str  # the envelope sender ("" for bounces)
    from_address: str = ""  # the author (From header), normalised; "" when missing or invalid
    from_name: str = ""
    roles: frozenset[str] = frozenset()  # the author's roles on the list: member, owner, moderator
    moderated: bool = False  # the author's member row has the moderated flag
    accepted: bool = False  # an owner put the author on the list's accepted senders
    banned: str = ""  # the ban pattern the author matches
    parse_problem: str = ""
    header_filters: list = field(default_factory=list)

    def header(self, name: str) -> str:
        return header_text(self.message, name) if self.message is not None else ""

    @property
    def privileged(self) -> bool:
        """Owners and moderators of the list."""
        return bool(self.roles & {"owner", "moderator"})


def parse(raw: bytes) -> tuple[EmailMessage | None, str]:
    """The parsed message and, when it is unusable, why. Never raises."""
    try:
        message = parse_message(raw)
    except Exception as exc:  # the parser is lenient, but hostile input has found ways to raise
        return None, f"unparseable: {type(exc).__name__}"
    problem = ""
    try:
        if not list(message.keys()):
            problem = "unparseable: no headers"
    except Exception as exc:
        problem = f"unparseable: {type(exc).__name__}"
    return message, problem


def author_of(message: EmailMessage | None) -> tuple[str, str]:
    """(display name, normalised address) of the From header; empty strings when there is none usable."""
    if message is None:
        return "", ""
    value = header_text(message, "From")
    try:
        pairs = getaddresses([value])
    except Exception:
        return "", ""
    for name, address in pairs:
        if not address:
            continue
        try:
            return name, addresses.normalize(address)
        except InvalidInput:
            return name, ""
    return "", ""
