"""Archives: threads as JSON Lines, and per list one mbox (mboxrd) with a JSON Lines index beside it.

The index gives, per message, where its bytes are in the mbox (offset, length of the quoted
message), their sha256 once unquoted, and what Poplist knows about it (thread, parent,
visibility); the raw bytes come back exactly as archived.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.utils.translation import gettext_lazy as _

from poplist.archive.models import ArchivedMessage, Thread
from poplist.core.errors import InvalidInput
from poplist.core.mime import parse_message, plain_text_of
from poplist.exchange.format import Reader, Writer, mbox_message, safe_name
from poplist.exchange.records import ModelSpec, bulk_insert, export_rows, to_values
from poplist.exchange.registry import ImportContext
from poplist.lists.models import MailingList

BATCH = 200  # raw messages per query: memory stays at a few MB whatever the archive's size
THREADS = ModelSpec(
    Thread,
    "threads.jsonl",
    lambda t: Thread.objects.filter(mailing_list__tenant=t),
    refs={"list": ("mailing_list__address", "mailing_list_id")},
)
INDEX_FIELDS = [
    "message_id",
    "permalink_id",
    "in_reply_to",
    "references",
    "subject",
    "author_name",
    "author_email",
    "date",
    "archived_at",
    "has_attachments",
    "size",
]
MESSAGE = ModelSpec(ArchivedMessage, "", lambda t: ArchivedMessage.objects.none(), exclude={"body_text", "raw"})


class ArchiveSection:
    name = "archives"
    order = 30
    feed_specs = [THREADS, MESSAGE]

    def count(self, tenant: Any) -> int:
        return (
            Thread.objects.filter(mailing_list__tenant=tenant).count()
            + ArchivedMessage.objects.filter(mailing_list__tenant=tenant).count()
        )

    def export(self, writer: Writer, tenant: Any, folder: str) -> None:
        path = f"{folder}/{THREADS.path}"
        writer.touch(path)
        for record in export_rows(THREADS, tenant, writer.include_secrets):
            writer.record(path, record)
        for mailing_list in MailingList.objects.filter(tenant=tenant).order_by("address"):
            self._export_list(writer, mailing_list, f"{folder}/archives/{safe_name(mailing_list.address)}")

    def _export_list(self, writer: Writer, mailing_list: MailingList, stem: str) -> None:
        writer.touch(f"{stem}.mbox")
        writer.touch(f"{stem}.jsonl")
        last = 0
        while True:
            rows = list(
                ArchivedMessage.objects.filter(mailing_list=mailing_list, id__gt=last)
                .order_by("id")
                .values_list("id", "raw", "thread__permalink_id", "parent__permalink_id", *INDEX_FIELDS)[:BATCH]
            )
            for row in rows:
                raw = bytes(row[1])
                record = dict(zip(INDEX_FIELDS, row[4:], strict=True))
                offset, length = writer.mbox_message(f"{stem}.mbox", raw, record["author_email"], record["date"])
                record.update(
                    thread=row[2],
                    parent=row[3],
                    visibility=mailing_list.archive_policy,
                    mbox_offset=offset,
                    mbox_length=length,
                    sha256=hashlib.sha256(raw).hexdigest(),
                )
                writer.record(f"{stem}.jsonl", record)
            if len(rows) < BATCH:
                return
            last = rows[-1][0]

    def import_(self, reader: Reader, folder: str, ctx: ImportContext) -> None:
        path = f"{folder}/{THREADS.path}"
        ctx.counts[THREADS.path] = bulk_insert(Thread, self._threads(reader, path, ctx))
        messages = 0
        for mailing_list in MailingList.objects.filter(tenant=ctx.tenant).order_by("address"):
            stem = f"{folder}/archives/{safe_name(mailing_list.address)}"
            if reader.has(f"{stem}.jsonl"):
                messages += self._import_list(reader, mailing_list, stem, ctx)
        ctx.counts["archived_messages"] = messages

    def _threads(self, reader: Reader, path: str, ctx: ImportContext):
        for record in reader.records(path):
            values = to_values(THREADS, record, path)
            values["mailing_list_id"] = ctx.resolve("list", record.get("list"), path)
            if ctx.on_record:
                ctx.on_record()
            yield Thread(**values)

    def _import_list(self, reader: Reader, mailing_list: MailingList, stem: str, ctx: ImportContext) -> int:
        count = 0
        batch: list[dict[str, Any]] = []
        with reader.open_binary(f"{stem}.mbox") as mbox:
            for record in reader.records(f"{stem}.jsonl"):
                batch.append(record)
                if len(batch) >= BATCH:
                    count += self._insert(batch, mbox, mailing_list, stem, ctx)
                    batch = []
            if batch:
                count += self._insert(batch, mbox, mailing_list, stem, ctx)
        return count

    def _insert(self, batch, mbox, mailing_list: MailingList, stem: str, ctx: ImportContext) -> int:
        path = f"{stem}.jsonl"
        # Parents and threads are named by permalink: one query per batch, so memory stays flat.
        wanted = {r.get("thread") for r in batch} | {r.get("parent") for r in batch if r.get("parent")}
        threads = dict(
            Thread.objects.filter(mailing_list=mailing_list, permalink_id__in=wanted).values_list("permalink_id", "id")
        )
        parents = dict(
            ArchivedMessage.objects.filter(mailing_list=mailing_list, permalink_id__in=wanted).values_list(
                "permalink_id", "id"
            )
        )
        objects = []
        late: list[tuple[str, str]] = []  # (message, parent) where the parent is in this same batch
        for record in batch:
            try:
                raw = mbox_message(mbox, int(record["mbox_offset"]), int(record["mbox_length"]))
            except (KeyError, TypeError, ValueError):
                raise InvalidInput(_("%(path)s: a record has no valid mbox position."), path=path) from None
            if hashlib.sha256(raw).hexdigest() != record.get("sha256"):
                raise InvalidInput(
                    _("%(path)s: message %(id)s does not match its sha256."), path=path, id=record.get("message_id")
                )
            values = to_values(MESSAGE, record, path)
            thread_id = threads.get(record.get("thread"))
            if thread_id is None:
                raise InvalidInput(_("%(path)s: message %(id)s has no thread."), path=path, id=record.get("message_id"))
            parent = record.get("parent")
            if parent and parent not in parents:
                late.append((values["permalink_id"], parent))
            values.update(
                mailing_list_id=mailing_list.pk,
                thread_id=thread_id,
                parent_id=parents.get(parent) if parent else None,
                raw=raw,
                body_text=plain_text_of(parse_message(raw))[0],  # derived: not in the export
            )
            if ctx.on_record:
                ctx.on_record()
            objects.append(ArchivedMessage(**values))
        ArchivedMessage.objects.bulk_create(objects)
        if late:
            ids = dict(
                ArchivedMessage.objects.filter(
                    mailing_list=mailing_list, permalink_id__in={p for _m, p in late}
                ).values_list("permalink_id", "id")
            )
            for message, parent in late:
                ArchivedMessage.objects.filter(mailing_list=mailing_list, permalink_id=message).update(
                    parent_id=ids.get(parent)
                )
        return len(objects)
