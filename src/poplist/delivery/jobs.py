"""Delivery jobs: created by inbound when it accepts a post, worked through by `poplist worker`."""

from __future__ import annotations

from poplist.archive.models import ArchivedMessage
from poplist.delivery.models import DeliveryJob
from poplist.lists.models import MailingList


def enqueue_post(
    mailing_list: MailingList, prepared: bytes, *, message_id: str, archived: ArchivedMessage | None = None
) -> DeliveryJob:
    """Queue a post for every member; call inside the transaction that accepted it."""
    return DeliveryJob.objects.create(
        mailing_list=mailing_list,
        kind=DeliveryJob.Kind.POST,
        message=prepared,
        message_id=message_id[:998],
        archived=archived,
    )
