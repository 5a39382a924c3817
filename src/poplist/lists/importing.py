"""Bulk import of members from CSV, plain address lists and `Name <address>` lines.

How it stays all-or-nothing and fast (figures: bench/import_members.py):
1. Rows are parsed, validated and streamed into a connection-local TEMP staging table,
   outside any write lock on the main database; rejected rows are reported with their
   line numbers as they come. Memory stays flat: nothing accumulates in Python.
2. One short transaction then moves the staged rows into the members table with
   INSERT … SELECT … ON CONFLICT DO NOTHING (duplicates and existing members are
   skipped by the unique index), after deleting suppressed addresses from the stage.
A crash during step 1 leaves the members table untouched (the temp table dies with the
connection); a crash during step 2 rolls back. Re-running an import adds nothing twice.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from itertools import islice
from operator import itemgetter
from typing import BinaryIO

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.core import addresses
from poplist.core.errors import InvalidInput, QuotaExceeded
from poplist.lists import services
from poplist.lists.models import ImportRun, MailingList, Member
from poplist.lists.subscriptions import Origin, invite

STAGING = "poplist_import_staging"
BATCH = 10_000
EMAIL_COLUMNS = ("email", "e-mail", "email address", "e-mail address", "mail", "courriel", "adresse")
NAME_COLUMNS = ("name", "full name", "display name", "display_name", "nom")
KEPT_REJECTIONS = 1000


@dataclass
class Rejection:
    line: int
    text: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    invited: int = 0
    skipped_existing: int = 0  # already members, already invited, or repeated in the file
    skipped_suppressed: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)  # the first KEPT_REJECTIONS
    run_id: int | None = None


# A staged row: (line number, normalised address, display name, attributes as JSON text). A plain
# tuple: a dataclass per row cost ~1 µs, where parsing a row now costs ~2.3 µs in all.
StagedRow = tuple[int, str, str, str]


def import_members(
    mailing_list: MailingList,
    stream: BinaryIO,
    *,
    source: str,
    mode: str = "direct",
    actor: str = "",
    encoding: str = "utf-8",
    on_reject: Callable[[Rejection], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import every valid row of `stream` into the list (direct) or invite each address (confirm)."""
    if mode not in {"direct", "confirm"}:
        raise InvalidInput(_("Unknown import mode %(mode)s (direct or confirm)."), mode=mode)
    report = ImportReport()
    digest = hashlib.sha256()

    def rejected(rejection: Rejection) -> None:
        report.rejected += 1
        if len(report.rejections) < KEPT_REJECTIONS:
            report.rejections.append(rejection)
        if on_reject:
            on_reject(rejection)

    rows = parse(stream, encoding=encoding, on_reject=rejected, on_progress=on_progress, digest=digest)
    with staging_table() as stage:
        report.rows = stage.fill(rows) + report.rejected
        with transaction.atomic():
            if mode == "direct":
                _move_members(mailing_list, stage, report)
            else:
                _invite_all(mailing_list, stage, report, actor=actor, source=source)
            run = ImportRun.objects.create(
                mailing_list=mailing_list,
                source=source[:500],
                sha256=digest.hexdigest(),
                mode=mode,
                actor=actor,
                rows=report.rows,
                added=report.added,
                invited=report.invited,
                skipped_existing=report.skipped_existing,
                skipped_suppressed=report.skipped_suppressed,
                rejected=report.rejected,
                finished_at=timezone.now(),
            )
            report.run_id = run.pk
    return report


# --- Parsing -----------------------------------------------------------------------------------------


def parse(
    stream: BinaryIO,
    *,
    encoding: str = "utf-8",
    on_reject: Callable[[Rejection], None],
    on_progress: Callable[[int], None] | None = None,
    digest=None,
) -> Iterator[StagedRow]:
    """Yield valid rows; report each invalid one through `on_reject`. Refuses undecodable files whole."""
    try:
        decoder_factory = codecs.getincrementaldecoder(encoding)
    except LookupError:
        raise InvalidInput(_("Unknown encoding %(encoding)s."), encoding=encoding) from None
    lines = _decoded_lines(stream, encoding, decoder_factory, on_progress, digest)
    first = _first_content_line(lines)
    if first is None:
        return
    line_no, text = first
    if "@" in text:
        yield from _parse_address_lines(_chain(first, lines), on_reject)
    else:
        yield from _parse_csv(text, lines, line_no, on_reject)


def _decoded_lines(stream, encoding, decoder_factory, on_progress, digest) -> Iterator[tuple[int, str]]:
    """(line number, text) per line; a byte sequence that does not decode stops the import with its line."""
    done = 0
    for number, raw in enumerate(stream, start=1):
        if digest is not None:
            digest.update(raw)
        done += len(raw)
        if number == 1 and raw.startswith(codecs.BOM_UTF8) and encoding.replace("-", "").lower() == "utf8":
            raw = raw[3:]
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            raise InvalidInput(
                _(
                    "Line %(line)s is not valid %(encoding)s text; nothing was imported. Save the file as UTF-8, "
                    "or give its encoding with --encoding."
                ),
                line=number,
                encoding=encoding,
            ) from None
        if on_progress is not None and number % 8192 == 0:
            on_progress(done)
        yield number, text
    if on_progress is not None:
        on_progress(done)


def _first_content_line(lines: Iterator[tuple[int, str]]) -> tuple[int, str] | None:
    for number, text in lines:
        if text.strip() and not text.lstrip().startswith("#"):
            return number, text
    return None


def _chain(first, rest):
    yield first
    yield from rest


def _parse_address_lines(lines, on_reject) -> Iterator[StagedRow]:
    normalize = addresses.normalize
    for number, text in lines:
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        name = ""
        address = text
        if "<" in text:
            name, address = parseaddr(text)
            if not address:
                on_reject(Rejection(number, text[:200], "not an address nor Name <address>"))
                continue
        elif "," in text or ";" in text or "\t" in text:  # a header-less CSV: address, then name
            address, _sep, name = text.replace(";", ",").replace("\t", ",").partition(",")
            name = name.split(",")[0].strip().strip('"')
        try:
            yield (number, normalize(address), _clean_name(name), "{}")
        except InvalidInput as exc:
            on_reject(Rejection(number, text[:200], _reason(exc)))


def _parse_csv(header_text: str, lines, header_line: int, on_reject) -> Iterator[StagedRow]:
    dialect = _sniff(header_text)
    header = [column.strip() for column in next(csv.reader([header_text], dialect))]
    lowered = [column.lower() for column in header]
    email_index = next((lowered.index(c) for c in EMAIL_COLUMNS if c in lowered), None)
    if email_index is None:
        raise InvalidInput(
            _("The CSV header (line %(line)s) has no email column; it has: %(columns)s. Name one column 'email'."),
            line=header_line,
            columns=", ".join(header) or "nothing",
        )
    name_index = next((lowered.index(c) for c in NAME_COLUMNS if c in lowered), None)
    extra = [(i, column) for i, column in enumerate(header) if i not in (email_index, name_index) and column]
    normalize = addresses.normalize
    # The loop runs once per row (a million times for a million-row file): a name's clean-up
    # is inlined for the common printable case, and there is no attributes dict without extra
    # columns; ~0.3 µs of ~2.3 µs per row.
    if name_index is None:
        name_index = -1
    needed = max(email_index, name_index) + 1
    reader = csv.reader(map(itemgetter(1), lines), dialect)
    for row in reader:
        if len(row) < needed or len(row) == 1:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) <= email_index:
                on_reject(Rejection(header_line + reader.line_num, ",".join(row)[:200], "the row has no email field"))
                continue
        try:
            email = normalize(row[email_index])
        except InvalidInput as exc:
            on_reject(Rejection(header_line + reader.line_num, ",".join(row)[:200], _reason(exc)))
            continue
        if name_index < 0 or name_index >= len(row):
            name = ""
        else:
            name = row[name_index]
            name = name.strip()[:200] if name.isprintable() else _clean_name(name)
        if extra:
            attributes = {column: row[i] for i, column in extra if i < len(row) and row[i] != ""}
            if attributes:
                yield (header_line + reader.line_num, email, name, json.dumps(attributes, ensure_ascii=False))
                continue
        yield (header_line + reader.line_num, email, name, "{}")


def _clean_name(name: str) -> str:
    """Names end up in headers: one line, no control characters, bounded."""
    if name.isprintable():
        return name.strip()[:200]
    return " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())[:200]


def _sniff(header_text: str) -> type[csv.Dialect]:
    try:
        return csv.Sniffer().sniff(header_text, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _reason(exc: InvalidInput) -> str:
    return str(exc.params.get("reason", exc))


# --- Staging ------------------------------------------------------------------------------------------


class staging_table:
    """A TEMP table on this connection: invisible to others, gone with the connection."""

    def __enter__(self) -> staging_table:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
            cursor.execute(
                f"CREATE TEMP TABLE {STAGING} (line BIGINT NOT NULL, email VARCHAR(254) NOT NULL, "
                f"display_name VARCHAR(200) NOT NULL, attributes TEXT NOT NULL)"
            )
        return self

    def __exit__(self, *exc_info) -> None:
        if connection.in_atomic_block and connection.needs_rollback:
            return
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")

    def fill(self, rows: Iterator[StagedRow]) -> int:
        """Stream rows into the stage; returns how many."""
        if connection.vendor == "postgresql":
            return self._copy(rows)
        count = 0
        for batch in _batched(rows):
            self._insert_sqlite(batch)
            count += len(batch)
        return count

    def _copy(self, rows: Iterator[StagedRow]) -> int:
        """One COPY for the whole file: PostgreSQL ingests a block while Python parses the next.

        Text blocks are 5x faster than copy.write_row per row. Fields hold no tab or line break
        (names are cleaned, addresses validated, JSON escapes them), so only backslashes are escaped.
        """
        count = 0
        # atomic(): a refusal while parsing aborts the COPY; a savepoint keeps the connection usable.
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {STAGING} (line, email, display_name, attributes) FROM STDIN") as copy,
        ):
            for batch in _batched(rows):
                block = "".join([f"{line}\t{email}\t{name}\t{attributes}\n" for line, email, name, attributes in batch])
                if "\\" in block:  # rare: escape this block's backslashes field by field
                    block = "".join(
                        f"{line}\t{_copy_escape(email)}\t{_copy_escape(name)}\t{_copy_escape(attributes)}\n"
                        for line, email, name, attributes in batch
                    )
                copy.write(block)
                count += len(batch)
        return count

    def _insert_sqlite(self, batch: Sequence[StagedRow]) -> None:
        # A DEFERRED transaction that writes only the temp database takes no lock on the main one.
        connection.ensure_connection()
        raw = connection.connection
        if connection.in_atomic_block:
            raw.executemany(f"INSERT INTO temp.{STAGING} VALUES (?, ?, ?, ?)", batch)
            return
        raw.execute("BEGIN")
        try:
            raw.executemany(f"INSERT INTO temp.{STAGING} VALUES (?, ?, ?, ?)", batch)
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")


def _batched(rows: Iterator[StagedRow]) -> Iterator[list[StagedRow]]:
    """Lists of up to BATCH rows, taken with islice (in C: ~0.1 µs a row less than a loop appending)."""
    while batch := list(islice(rows, BATCH)):
        yield batch


def _copy_escape(value: str) -> str:
    return value.replace("\\", "\\\\") if "\\" in value else value


_SUPPRESSED = (
    "EXISTS (SELECT 1 FROM lists_suppression s WHERE s.tenant_id = %s AND s.email = {t}.email "
    "AND (s.mailing_list_id = %s OR s.mailing_list_id IS NULL))"
)


_INSERT_MEMBERS = (
    "INSERT INTO lists_member (mailing_list_id, email, display_name, role, delivery_mode, status, "
    "disabled_reason, moderated, attributes, joined_via, joined_at, joined_ref) "
    "SELECT {select} %s, email, display_name, %s, %s, %s, '', %s, {attributes}, %s, %s, %s FROM {stage} "
    "WHERE {where} ORDER BY {order} {conflict}"
)
# PostgreSQL: ON CONFLICT DO NOTHING costs a speculative insertion per row, twice the time
# of filtering first (200k rows: 2.6 s against 1.3 s here). It stays as the fallback for
# the rare import that races a subscription of one of its addresses.
# The sort is by bytes (COLLATE "C"): with the database's libc collation (C.UTF-8 here) each
# comparison is a strcoll() and abbreviated keys are off; bytes cut the sort's CPU from 2.0 s
# to 1.1 s per million rows, 1 s of a 8 s move. Same result: libc collations are deterministic,
# so "equal" is "the same bytes" in both, and with C or C.UTF-8 byte order is code point
# order, the order the address index is in, so the inserts still append to it.
_PG_FAST = {
    "select": 'DISTINCT ON (email COLLATE "C")',
    "where": "NOT EXISTS (SELECT 1 FROM lists_member m WHERE m.mailing_list_id = %s AND m.email = {stage}.email "
    "AND m.role = 'member')",
    "order": 'email COLLATE "C", line',
    "conflict": "",
}
# Most rows have no extra columns: one constant instead of a JSON parse per row (0.1 s a million).
_PG_ATTRIBUTES = "CASE WHEN attributes = '{}' THEN CAST('{}' AS jsonb) ELSE CAST(attributes AS jsonb) END"
_PORTABLE = {"select": "", "where": "true", "order": "line", "conflict": "ON CONFLICT DO NOTHING"}


def _move_members(mailing_list: MailingList, stage: staging_table, report: ImportReport) -> None:
    staged = report.rows - report.rejected
    now = timezone.now()
    values = [
        mailing_list.pk,
        Member.Role.MEMBER,
        Member.DeliveryMode.REGULAR,
        Member.Status.ENABLED,
        mailing_list.new_members_moderated,
        Member.Via.IMPORT,
        now,
        f"import {now:%Y-%m-%d %H:%M}",
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The members table has no foreign key to the list (see Member): this one lock keeps
            # the list from being deleted under the move, as a key check per row would.
            cursor.execute("SELECT 1 FROM lists_mailinglist WHERE id = %s FOR KEY SHARE", [mailing_list.pk])
            # The move sorts the stage by address: in memory up to a few hundred thousand rows; a million
            # spill ~110 MB to temporary files, and 256 or 512 MB measured no faster (docs/architecture.md).
            cursor.execute("SET LOCAL work_mem = '64MB'")
            # These statements cost more than jit_above_cost, so PostgreSQL compiles them: ~0.3 s of
            # CPU a million rows (EXPLAIN's "JIT: Timing") that the row-by-row inserts never win back.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(
            f"DELETE FROM {STAGING} WHERE " + _SUPPRESSED.format(t=STAGING),
            [mailing_list.tenant_id, mailing_list.pk],
        )
        report.skipped_suppressed = max(cursor.rowcount, 0)
        # The first of repeated addresses (lowest line) is the one kept.
        if connection.vendor == "postgresql":
            try:
                with transaction.atomic():
                    cursor.execute(_member_insert(_PG_FAST, _PG_ATTRIBUTES), [*values, mailing_list.pk])
            except IntegrityError:
                cursor.execute(_member_insert(_PORTABLE, _PG_ATTRIBUTES), values)
        else:
            cursor.execute(_member_insert(_PORTABLE, "attributes"), values)
        report.added = max(cursor.rowcount, 0)
    report.skipped_existing = staged - report.skipped_suppressed - report.added
    if report.added:
        if services.tenant_member_count(mailing_list.tenant) + report.added > mailing_list.tenant.quota_members:
            raise QuotaExceeded(
                _("This import would take %(tenant)s past its quota of %(n)s members; nothing was imported."),
                tenant=mailing_list.tenant.slug,
                n=mailing_list.tenant.quota_members,
            )
        services.bump_member_count(mailing_list, report.added)


def _member_insert(shape: dict[str, str], attributes: str) -> str:
    parts = {key: value.format(stage=STAGING) for key, value in shape.items()}
    return _INSERT_MEMBERS.format(attributes=attributes, stage=STAGING, **parts)


def _invite_all(
    mailing_list: MailingList, stage: staging_table, report: ImportReport, *, actor: str, source: str
) -> None:
    staged = report.rows - report.rejected
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {STAGING} WHERE " + _SUPPRESSED.format(t=STAGING),
            [mailing_list.tenant_id, mailing_list.pk],
        )
        report.skipped_suppressed = max(cursor.rowcount, 0)
        cursor.execute(
            f"DELETE FROM {STAGING} WHERE line NOT IN (SELECT MIN(line) FROM {STAGING} GROUP BY email) "
            f"OR EXISTS (SELECT 1 FROM lists_member m WHERE m.mailing_list_id = %s AND m.email = {STAGING}.email "
            "AND m.role = 'member') "
            f"OR EXISTS (SELECT 1 FROM lists_pendingrequest p WHERE p.mailing_list_id = %s "
            f"AND p.email = {STAGING}.email AND p.kind = 'invite' AND p.state = 'pending')",
            [mailing_list.pk, mailing_list.pk],
        )
    origin = Origin(via=Member.Via.IMPORT, ref=source[:255], actor=actor)
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT line, email, display_name FROM {STAGING} WHERE line > %s ORDER BY line LIMIT 1000",
                [last],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        for line, email, name in rows:
            invite(mailing_list, email, name=name, origin=origin)
            report.invited += 1
            last = line
    report.skipped_existing = staged - report.skipped_suppressed - report.invited
