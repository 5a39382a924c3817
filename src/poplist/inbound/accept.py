"""Accepting a post: prepare it once, archive it and queue its delivery, all in the caller's transaction.

In the writer's optimistic batches a group's posts to one list are archived together (one
threading look-up, one INSERT per table: `archive.services.archive_entries`) and the delivery
jobs, digest items and backlog rows go in with one INSERT per table at the end (`inbound.batch`).
Should archiving one post fail, the post is still accepted: a `PendingArchive` row committed with
it lets the worker retry (`inbound.archiving`), and its members get it meanwhile.
"""

from __future__ import annotations

import logging

from django.db import transaction

from poplist.archive.services import Entry, archive_entries, describe
from poplist.delivery.jobs import post_rows
from poplist.delivery.models import DeliveryJob
from poplist.inbound import batch
from poplist.inbound.models import PendingArchive
from poplist.inbound.post import Post
from poplist.inbound.prepare import prepare
from poplist.lists.models import MailingList

log = logging.getLogger(__name__)


def accept_post(post: Post, message_id: str, *, author_strict: bool = False) -> None:
    mailing_list = post.mailing_list
    prepared = prepare(post, message_id, author_strict=author_strict)
    job, digest_item = post_rows(mailing_list, prepared.raw, message_id=message_id)
    rows = [job, digest_item]
    if mailing_list.archive_policy != MailingList.ArchivePolicy.NONE:
        entry = _entry(post, prepared.raw, message_id)
        if not batch.run_later(("archive", mailing_list.pk), (entry, job), _archive_group, before_insert=True):
            rows += _archive_now(mailing_list, entry, job)
    if not batch.insert_later(*rows):
        for row in rows:
            row.save()


def _entry(post: Post, prepared: bytes, message_id: str) -> Entry:
    """The archive keeps the bytes members get, read through what the rules parsed already: the
    author's own From and Subject (not the list's prefix or DMARC rewrite), the body text once."""
    if post.message is None:  # approved by a moderator although unparseable: read the prepared bytes
        return describe(prepared, message_id=message_id)
    return describe(
        prepared,
        message=post.message,
        message_id=message_id,
        read=post.header,
        body=post.body(),
        author=(post.from_name, post.from_address) if post.from_address else None,
    )


def _archive_group(items: list[tuple[Entry, DeliveryJob]]) -> None:
    """A batch's posts to one list, archived together before their jobs are inserted. An error rolls the
    batch back and the writer replays it message by message, where `_archive_now` handles it."""
    mailing_list = items[0][1].mailing_list
    archived = archive_entries(mailing_list, [entry for entry, _job in items])
    for (_entry, job), entry_archived in zip(items, archived, strict=True):
        job.archived = entry_archived


def _archive_now(mailing_list: MailingList, entry: Entry, job: DeliveryJob) -> list[PendingArchive]:
    try:
        with transaction.atomic():
            job.archived = archive_entries(mailing_list, [entry])[0]
        return []
    except Exception:
        log.exception("could not archive post %s of list %s; the worker will retry", entry.message_id, mailing_list.pk)
        return [
            PendingArchive(
                mailing_list=mailing_list,
                job=job,  # inserted first: Django takes its id when the backlog row is saved
                message_id=entry.message_id,
                received_at=entry.received_at,
                subject=entry.subject,
            )
        ]
