"""Queueing single messages and handing them to a transport, with leases and back-off."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from poplist.core.errors import PoplistError
from poplist.delivery.dkim import Signer, header_domain, sign_message
from poplist.delivery.keys import signers_for
from poplist.delivery.models import OutboundMessage
from poplist.delivery.transport import Envelope, Transport
from poplist.lists.models import MailingList

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claim older than this is taken to belong to a dead worker
MAX_AGE = timedelta(days=5)  # a message still refused by a 4xx after this long fails


def queue_message(
    *, mail_from: str, recipients: list[str], raw: bytes, kind: str, tenant=None, mailing_list=None
) -> OutboundMessage:
    """Store a message for sending; call inside the transaction that decided to send it."""
    return OutboundMessage.objects.create(
        tenant=tenant,
        mailing_list=mailing_list,
        kind=kind,
        mail_from=mail_from,
        recipients=recipients,
        raw=raw,
    )


def backoff(attempts: int) -> timedelta:
    """1 min, 2, 4, … capped at 4 hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 240))


def claim_due(limit: int) -> list[OutboundMessage]:
    """Take up to `limit` due messages for this worker by pushing their next attempt past the lease."""
    now = timezone.now()
    with transaction.atomic():
        due = OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED, next_attempt_at__lte=now)
        due = due.order_by("next_attempt_at", "id")[:limit]
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True)
        claimed = list(due)
        if claimed:
            OutboundMessage.objects.filter(pk__in=[m.pk for m in claimed]).update(next_attempt_at=now + LEASE)
    return claimed


def send_queued(transport: Transport, limit: int = 100) -> int:
    """Send what is due; returns how many messages were handled (0: nothing to do)."""
    claimed = claim_due(limit)
    if not claimed:
        return 0
    now = timezone.now()
    ready: list[tuple[OutboundMessage, bytes]] = []
    signers: dict[tuple[str, bool], list[Signer] | PoplistError] = {}
    for message in claimed:
        try:
            ready.append((message, sign(message, signers)))
        except PoplistError as exc:  # a corrupt key (or none where one is required): wait, never send unsigned
            message.attempts += 1
            message.next_attempt_at = now + backoff(message.attempts)
            message.last_error = str(exc)[:2000]
            message.save(update_fields=["attempts", "next_attempt_at", "last_error"])
            log.warning("message %s not sent: %s", message.pk, exc)
    envelopes = [Envelope(m.mail_from, list(m.recipients), data) for m, data in ready]
    results = transport.send_many(envelopes) if envelopes else []
    now = timezone.now()
    with transaction.atomic():
        for (message, _data), result in zip(ready, results, strict=True):
            _record(message, result.replies, now)
    return len(claimed)


def sign(message: OutboundMessage, cache: dict | None = None) -> bytes:
    """A queued message as it leaves: DKIM-signed by the active keys of its From domain, when Poplist holds
    any (a list's notices are signed by the list domain's keys, like its posts). Signed at sending, not at
    queueing, so that the newest key signs and t= is the time the message left.

    A list's own domain follows `dkim_required` (no key: InvalidInput, as for posts); another domain (the
    host's ADMIN_EMAIL, an author's address in a forward) is signed only when it has a key."""
    raw = bytes(message.raw)
    domain = header_domain(raw)
    if not domain:
        return raw
    required = None if message.mailing_list_id and domain == _list_domain(message) else False
    key = (domain, required is None)
    cache = {} if cache is None else cache
    if key not in cache:
        try:
            cache[key] = signers_for(domain, required=required)
        except PoplistError as exc:
            cache[key] = exc
    found = cache[key]
    if isinstance(found, PoplistError):
        raise found
    return sign_message(raw, found) if found else raw


def _list_domain(message: OutboundMessage) -> str:
    return MailingList.objects.values_list("domain__name", flat=True).get(pk=message.mailing_list_id).lower()


def _record(message: OutboundMessage, replies: dict[str, tuple[int, str]], now) -> None:
    message.attempts += 1
    temporary = {r: reply for r, reply in replies.items() if not 200 <= reply[0] < 300 and reply[0] < 500}
    permanent = {r: reply for r, reply in replies.items() if reply[0] >= 500}
    if temporary and now - message.created_at < MAX_AGE:
        # Only the recipients that were not accepted are tried again.
        message.recipients = sorted(temporary)
        message.next_attempt_at = now + backoff(message.attempts)
        message.last_error = "; ".join(f"{r}: {c} {t}" for r, (c, t) in temporary.items())[:2000]
    elif temporary or permanent:
        failed = {**temporary, **permanent}
        message.status = OutboundMessage.Status.FAILED if len(failed) == len(replies) else OutboundMessage.Status.SENT
        message.last_error = "; ".join(f"{r}: {c} {t}" for r, (c, t) in failed.items())[:2000]
        message.sent_at = now
        log.warning("message %s not delivered to %s", message.pk, ", ".join(failed))
    else:
        message.status = OutboundMessage.Status.SENT
        message.sent_at = now
    message.save(update_fields=["attempts", "recipients", "next_attempt_at", "last_error", "status", "sent_at"])
