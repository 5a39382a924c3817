"""Entry points of the bounce processor, called by inbound and by delivery.

(The bounce issue fills these in: parsing, classification, scoring. Until then they
record nothing, and callers may rely on their signatures.)
"""

from __future__ import annotations

from poplist.lists.models import MailingList


def receive_bounce(
    mailing_list: MailingList, raw: bytes, *, verp_token: str | None, envelope_from: str, inbound_message_id: int
) -> None:
    """A message arrived at `list-bounces[+TOKEN]@`; it is already stored by inbound (inbound_message_id)."""


def record_delivery_failure(
    mailing_list: MailingList, member_id: int, email: str, code: int, text: str, *, job_id: int | None = None
) -> None:
    """The relay refused a copy for good (5xx at RCPT or DATA, or a 4xx past its retry age)."""
