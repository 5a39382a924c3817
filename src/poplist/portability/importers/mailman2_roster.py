"""Mailman 2.1's roster: members with their options and delivery status, owners and moderators; its text charsets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from poplist.lists.models import Member
from poplist.portability.importers.common import decode_text
from poplist.portability.records import MemberRecord, RoleRecord

SYSTEM = "mailman2"

# Mailman 2.1's Defaults.py (add_language): the charset each list language was stored in.
CHARSETS = {
    "en": "us-ascii",
    "fr": "iso-8859-1",
    "de": "iso-8859-1",
    "es": "iso-8859-1",
    "it": "iso-8859-1",
    "nl": "iso-8859-1",
    "pt": "iso-8859-1",
    "pt_BR": "iso-8859-1",
    "ca": "utf-8",
    "da": "iso-8859-1",
    "eu": "iso-8859-1",
    "fi": "iso-8859-1",
    "no": "iso-8859-1",
    "sv": "iso-8859-1",
    "cs": "iso-8859-2",
    "hu": "iso-8859-2",
    "pl": "iso-8859-2",
    "hr": "iso-8859-2",
    "sl": "iso-8859-2",
    "ro": "utf-8",
    "ru": "utf-8",
    "uk": "utf-8",
    "el": "iso-8859-7",
    "he": "utf-8",
    "ja": "euc-jp",
    "ko": "euc-kr",
    "zh_CN": "utf-8",
    "zh_TW": "utf-8",
    "tr": "utf-8",
    "vi": "utf-8",
    "lt": "iso-8859-13",
}
# MemberAdaptor.py: delivery status codes; Defaults.py: user option bits.
DISABLED = {
    1: "",
    2: Member.DisabledReason.BY_USER,
    3: Member.DisabledReason.BY_OWNER,
    4: Member.DisabledReason.BY_BOUNCES,
}
OPTION_BITS = {
    2: "not_me_too",  # DontReceiveOwnPosts
    4: "acknowledge_posts",
    16: "conceal_subscription",
    32: "no_password_reminder",
    64: "receive_nonmatching_topics",
    256: "no_duplicates",
}
DISABLE_DELIVERY, DISABLE_MIME, MODERATE = 1, 8, 128


class Text:
    """Decodes Python 2 byte strings in the list's charset (Mailman 2 stored text that way)."""

    def __init__(self, charset: str) -> None:
        self.charset = charset

    def __call__(self, value: Any) -> str:
        if isinstance(value, bytes | str):
            return decode_text(value, self.charset).replace("\r\n", "\n").strip()
        return ""

    def lines(self, value: Any) -> list[str]:
        items = value if isinstance(value, list | tuple) else self(value).splitlines()
        return [line for line in (self(item) for item in items) if line]


def roles(config: dict, text: Text) -> list[RoleRecord]:
    found = [RoleRecord(text(email), Member.Role.OWNER) for email in config.get("owner", [])]
    found += [RoleRecord(text(email), Member.Role.MODERATOR) for email in config.get("moderator", [])]
    return [role for role in found if role.email]


def members(config: dict, text: Text, name: str) -> Iterator[MemberRecord]:
    options = config.get("user_options", {})
    statuses = config.get("delivery_status", {})
    names = config.get("usernames", {})
    languages = config.get("language", {})
    for roster, digest in ((config.get("members", {}), False), (config.get("digest_members", {}), True)):
        for key, original in roster.items():
            flags = options.get(key, 0) if isinstance(options.get(key, 0), int) else 0
            record = MemberRecord(
                # The roster is keyed by the lower-cased address; the value is the address as
                # the member wrote it, or 0 when that was already lower case.
                email=text(original) if isinstance(original, bytes | str) and original else text(key),
                name=text(names.get(key, b"")),
                joined_ref=f"{SYSTEM}:{name}",
            )
            if digest:
                record.delivery_mode = (
                    Member.DeliveryMode.PLAIN_DIGEST if flags & DISABLE_MIME else Member.DeliveryMode.MIME_DIGEST
                )
            record.moderated = bool(flags & MODERATE)
            _delivery_status(record, statuses.get(key), flags)
            kept = [label for bit, label in OPTION_BITS.items() if flags & bit]
            if kept:
                record.attributes["mailman_options"] = kept
            if languages.get(key):
                record.attributes["language"] = text(languages[key])
            yield record


def _delivery_status(record: MemberRecord, status: Any, flags: int) -> None:
    """(code, time) in delivery_status; older lists only set the DisableDelivery option bit."""
    code, when = (status[0], status[1]) if isinstance(status, tuple) and len(status) == 2 else (0, None)
    if not code and flags & DISABLE_DELIVERY:
        code = 1
    if code in DISABLED:
        record.status = Member.Status.DISABLED
        record.disabled_reason = DISABLED[code]
        if isinstance(when, int | float) and when > 0:
            record.disabled_at = datetime.fromtimestamp(when, tz=UTC)
