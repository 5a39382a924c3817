"""Helpers for tests: read what Poplist queued or sent."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage


def queued(kind: str | None = None, to: str | None = None) -> list[EmailMessage]:
    """Messages queued for sending, oldest first, parsed."""
    from poplist.delivery.models import OutboundMessage

    found = OutboundMessage.objects.order_by("pk")
    if kind:
        found = found.filter(kind=kind)
    messages = []
    for row in found:
        if to and to not in row.recipients:
            continue
        message = email.message_from_bytes(bytes(row.raw), policy=email.policy.default)
        message.envelope_from = row.mail_from
        message.recipients = row.recipients
        messages.append(message)
    return messages


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def body_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()
