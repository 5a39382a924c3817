"""Accepting a post: prepare it once, queue its delivery and its archiving, all in the caller's transaction.

The archive entry itself is written by the worker (`inbound.archiving`) from a `PendingArchive`
row committed here: threading and full-text indexing were a third of a post's time before 250.
In the writer's batches the rows are inserted in bulk at the end of the batch (`inbound.batch`).
"""

from __future__ import annotations

from django.utils import timezone

from poplist.delivery.jobs import post_rows
from poplist.inbound import batch
from poplist.inbound.models import PendingArchive
from poplist.inbound.post import Post
from poplist.inbound.prepare import prepare
from poplist.lists.models import MailingList


def accept_post(post: Post, message_id: str, *, author_strict: bool = False) -> None:
    mailing_list = post.mailing_list
    prepared = prepare(post, message_id, author_strict=author_strict)
    job, digest_item = post_rows(mailing_list, prepared.raw, message_id=message_id)
    rows = [job, digest_item]
    if mailing_list.archive_policy != MailingList.ArchivePolicy.NONE:
        pending = PendingArchive(
            mailing_list=mailing_list,
            job=job,  # inserted first: Django takes its id when the backlog row is saved
            message_id=message_id[:998],
            received_at=timezone.now(),
            # The archive shows the author's subject, without the list's prefix, as it always did.
            subject=post.header("Subject") if prepared.message is None else None,
        )
        rows.append(pending)
    if not batch.insert_later(*rows):
        for row in rows:
            row.save()
