"""listmonk: its subscriber CSV export, or its import format, or a ZIP of such CSVs.

The export (Subscribers → Export) writes `uuid,email,name,attributes,status,created_at,updated_at`
with `attributes` as JSON and the times in Go's time.String() form ("2021-05-08
10:20:03.123456 +0000 UTC"); listmonk's importer reads `email,name,attributes`, and
accepts a ZIP holding CSVs. Subscriber status: enabled, disabled, blocklisted (blacklisted
before v1.0).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput
from poplist.lists.models import Member, Suppression
from poplist.portability.dates import parse_date
from poplist.portability.importers.common import csv_rows, files_of, get, require_path
from poplist.portability.records import ImportReport, ListSource, MemberRecord, SuppressionRecord

SYSTEM = "listmonk"
BLOCKED = {"blocklisted", "blacklisted"}


def read(path: Path, *, address: str) -> ListSource:
    csvs = [
        (name, data)
        for name, data in files_of(require_path(path, "The listmonk export"))
        if name.lower().endswith(".csv")
    ]
    if not csvs:
        raise InvalidInput(_("%(path)s holds no CSV file."), path=str(path))
    source = ListSource.start(SYSTEM, path.stem, [str(path)], address=address)
    report = source.report
    rows = lambda: _rows(csvs, report)  # noqa: E731 - read twice: suppressions, then members
    source.suppressions = lambda: (
        SuppressionRecord(email, Suppression.Reason.MANUAL, "listmonk blocklist", tenant_wide=True)
        for email, row in rows()
        if row.get("status", "").lower() in BLOCKED
    )
    source.members = lambda: (
        _member(email, row, report) for email, row in rows() if row.get("status", "").lower() not in BLOCKED
    )
    report.notes.append(
        "listmonk's export has no per-list subscription status or list settings: Poplist's defaults apply"
    )
    return source


def _rows(csvs: list[tuple[str, bytes]], report: ImportReport) -> Iterator[tuple[str, dict[str, str]]]:
    for name, data in csvs:
        for line, row in csv_rows(data, name=name):
            email = get(row, "email")
            if not email:
                report.reject("row", f"{name}:{line}", "no email")
                continue
            yield email, {key.lower(): (value or "").strip() for key, value in row.items() if key}


def _member(email: str, row: dict[str, str], report: ImportReport) -> MemberRecord:
    record = MemberRecord(email=email, name=row.get("name", ""), joined_at=parse_date(row.get("created_at")))
    text = row.get("attributes") or row.get("attribs") or ""
    if text:
        try:
            attributes = json.loads(text)
        except ValueError:
            attributes = None
        if isinstance(attributes, dict):
            record.attributes = attributes
        else:
            report.count("attributes_unreadable")
            record.attributes = {"listmonk_attributes": text}
    if row.get("uuid"):
        record.attributes = {**record.attributes, "listmonk_uuid": row["uuid"]}
    if row.get("status", "").lower() == "disabled":
        record.status = Member.Status.DISABLED
        record.disabled_reason = Member.DisabledReason.BY_OWNER
        record.disabled_at = parse_date(row.get("updated_at"))
    return record
