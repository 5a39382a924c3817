"""Accepting a post: prepare it once, archive it, queue its delivery, all in the caller's transaction."""

from __future__ import annotations

from django.utils import timezone

from poplist.archive.models import ArchivedMessage
from poplist.archive.services import archive_message
from poplist.delivery.jobs import enqueue_post
from poplist.inbound.post import Post
from poplist.inbound.prepare import prepare
from poplist.lists.models import MailingList


def accept_post(post: Post, message_id: str, *, author_strict: bool = False) -> ArchivedMessage | None:
    mailing_list = post.mailing_list
    prepared = prepare(post, message_id, author_strict=author_strict)
    archived = None
    if mailing_list.archive_policy != MailingList.ArchivePolicy.NONE:
        archived = archive_message(
            mailing_list,
            prepared.raw,
            message_id=message_id,
            received_at=timezone.now(),
            message=prepared.message or post.message,  # parsed once: the archive does not parse again
            body=post.full_body() if prepared.message is None else None,  # the rules' reading, when it is whole
            headers=post.header if prepared.message is None else None,
        )
    enqueue_post(mailing_list, prepared.raw, message_id=message_id, archived=archived)
    return archived
