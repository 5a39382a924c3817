"""Each member's copy of a post, from bytes prepared once per post.

Per post: the headers that are the same for all copies, the body split on the personal
placeholders of `delivery.personalize`, the DKIM state (canonical headers, body hash). Per copy:
the member's unsubscribe token (one HMAC), a few byte joins, one signature per DKIM key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings

from poplist.bounces.verp import verp_address
from poplist.core.tokens import sign_id
from poplist.delivery import personalize
from poplist.delivery.dkim import PreparedSignature, Signer, split_message
from poplist.lists.models import MailingList
from poplist.lists.subscriptions import UNSUBSCRIBE_PURPOSE

BULK_RESIGN = 300.0  # seconds a bulk copy's signature is reused
_DROPPED = {b"list-unsubscribe", b"list-unsubscribe-post", b"dkim-signature", b"return-path"}


@dataclass(frozen=True)
class Copy:
    mail_from: str
    recipients: list[str]
    data: bytes
    member_ids: list[int]


class PreparedPost:
    """A post ready to be copied: build once per job (per worker), then `personal()` or `bulk()` per copy."""

    def __init__(self, mailing_list: MailingList, raw: bytes, signers: list[Signer]) -> None:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # CRLF whatever the source did
        headers, body = split_message(raw)
        headers = [(n, v) for n, v in headers if n.strip().lower() not in _DROPPED]
        self.head = b"".join(n + b":" + v + b"\r\n" for n, v in headers) + b"\r\n"
        # Body parts between placeholders, and which placeholder follows each part.
        self.body_parts, self.placeholders = _split_on_placeholders(body)
        self.signature = PreparedSignature(signers, headers, self.body_parts) if signers else None
        self.base_url = settings.BASE_URL.encode()
        self.mailto = f"mailto:{mailing_list.role_address('request')}?subject=unsubscribe".encode()
        self.list_page = f"{settings.BASE_URL}/lists/{mailing_list.address}/".encode()
        self.mailing_list = mailing_list
        self.bounces = mailing_list.role_address("bounces")
        self._bulk_data: bytes | None = None
        self._bulk_signed_at = 0.0

    def personal(self, member_id: int, email: str) -> Copy:
        url = self.base_url + b"/u/" + sign_id(UNSUBSCRIBE_PURPOSE, member_id).encode() + b"/"
        personal = [
            (b"List-Unsubscribe", b" <" + url + b">, <" + self.mailto + b">"),
            (b"List-Unsubscribe-Post", b" List-Unsubscribe=One-Click"),
        ]
        values = [url if p == personalize.UNSUBSCRIBE_URL else self.list_page for p in self.placeholders]
        return Copy(verp_address(self.mailing_list, member_id), [email], self._assemble(personal, values), [member_id])

    def bulk(self, members: list[tuple[int, str]]) -> Copy:
        """One copy for several members: the list's own unsubscribe address, the plain envelope sender."""
        return Copy(self.bounces, [e for _, e in members], self.bulk_data(), [m for m, _ in members])

    def bulk_data(self) -> bytes:
        """The bytes every bulk copy shares, signed once and again every `BULK_RESIGN` seconds (t= stays recent).

        Signing each bulk transaction took 40% of a bulk worker's time (250 RSA signatures per
        25,000 recipients); once per post it is nothing."""
        now = time.monotonic()
        if self._bulk_data is None or now - self._bulk_signed_at > BULK_RESIGN:
            unsubscribe = f"{settings.BASE_URL}/lists/{self.mailing_list.address}/leave/".encode()
            personal = [(b"List-Unsubscribe", b" <" + unsubscribe + b">, <" + self.mailto + b">")]
            values = [unsubscribe if p == personalize.UNSUBSCRIBE_URL else self.list_page for p in self.placeholders]
            self._bulk_data = self._assemble(personal, values)
            self._bulk_signed_at = now
        return self._bulk_data

    def _assemble(self, personal: list[tuple[bytes, bytes]], values: list[bytes]) -> bytes:
        out = [self.signature.signature_headers(personal, values)] if self.signature else []
        out += [n + b":" + v + b"\r\n" for n, v in personal]
        out.append(self.head)
        out.append(self.body_parts[0])
        for value, part in zip(values, self.body_parts[1:], strict=True):
            out.append(value)
            out.append(part)
        return b"".join(out)


def _split_on_placeholders(body: bytes) -> tuple[list[bytes], list[bytes]]:
    parts, found = [body], []
    while True:
        last = parts[-1]
        hits = [(last.find(p), p) for p in personalize.ALL if last.find(p) >= 0]
        if not hits:
            return parts, found
        at, placeholder = min(hits)
        parts[-1:] = [last[:at], last[at + len(placeholder) :]]
        found.append(placeholder)
