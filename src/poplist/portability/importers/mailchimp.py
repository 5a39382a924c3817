"""Mailchimp: an audience export ZIP (subscribed, unsubscribed and cleaned members as CSV).

Mailchimp names the files `subscribed_members_export_<id>.csv` (newer accounts:
`subscribed_email_audience_export_<id>.csv`) and likewise for `unsubscribed_` and
`cleaned_`. Columns: `Email Address`, `First Name`, `Last Name`, the audience's merge
fields, then MEMBER_RATING, OPTIN_TIME, OPTIN_IP, CONFIRM_TIME, CONFIRM_IP, LATITUDE,
LONGITUDE, GMTOFF, DSTOFF, TIMEZONE, CC, REGION, LAST_CHANGED, LEID, EUID, NOTES, TAGS;
unsubscribed rows add UNSUB_TIME, UNSUB_CAMPAIGN_TITLE, UNSUB_CAMPAIGN_ID, UNSUB_REASON,
UNSUB_REASON_OTHER, cleaned rows CLEAN_TIME, CLEAN_CAMPAIGN_TITLE, CLEAN_CAMPAIGN_ID.
Times are UTC, written "YYYY-MM-DD HH:MM:SS".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput
from poplist.lists.models import Suppression
from poplist.portability.dates import parse_date
from poplist.portability.importers.common import column_key, csv_rows, files_of, get, require_path
from poplist.portability.records import ImportReport, ListSource, MemberRecord, SuppressionRecord

SYSTEM = "mailchimp"
EMAIL = ("Email Address", "E-mail Address", "Email")
NAMES = ("First Name", "Last Name")
CONSENT = ("OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP")
# Mailchimp's own columns: kept together under attributes["mailchimp"], apart from the merge fields.
SYSTEM_COLUMNS = (
    "MEMBER_RATING",
    "LATITUDE",
    "LONGITUDE",
    "GMTOFF",
    "DSTOFF",
    "TIMEZONE",
    "CC",
    "REGION",
    "LAST_CHANGED",
    "LEID",
    "EUID",
    "NOTES",
    "TAGS",
    "UNSUB_TIME",
    "UNSUB_CAMPAIGN_TITLE",
    "UNSUB_CAMPAIGN_ID",
    "UNSUB_REASON",
    "UNSUB_REASON_OTHER",
    "CLEAN_TIME",
    "CLEAN_CAMPAIGN_TITLE",
    "CLEAN_CAMPAIGN_ID",
)
_OWN = {column_key(c) for c in (*EMAIL, *NAMES, *CONSENT, *SYSTEM_COLUMNS)}
_KIND = re.compile(r"^(subscribed|unsubscribed|cleaned|non_?subscribed)_")


def read(path: Path, *, address: str) -> ListSource:
    files = _classify(require_path(path, "The Mailchimp export"))
    source = ListSource.start(SYSTEM, path.stem, [str(path)], address=address)
    report = source.report
    if not files.get("subscribed") and not files.get("unsubscribed") and not files.get("cleaned"):
        raise InvalidInput(
            _(
                "%(path)s holds no subscribed_, unsubscribed_ or cleaned_ members CSV: "
                "is it a Mailchimp audience export?"
            ),
            path=str(path),
        )
    for name in files.get("other", []):
        report.skip(name, "file", "not one of Mailchimp's member exports")
    for name, _data in files.get("nonsubscribed", []):
        report.skip(name, "file", "non-subscribed contacts never opted in: they are not imported")
    source.members = lambda: _members(files.get("subscribed", []), report)
    source.suppressions = lambda: _suppressions(files, report)
    report.notes.append("Mailchimp exports no list settings: the list has Poplist's defaults")
    return source


def _classify(path: Path) -> dict[str, list]:
    files: dict[str, list] = {}
    for name, data in files_of(path):
        base = Path(name).name.lower()
        if not base.endswith(".csv"):
            files.setdefault("other", []).append(name)
            continue
        match = _KIND.match(base)
        kind = match.group(1).replace("_", "") if match else "other"
        files.setdefault(kind, []).append(name if kind == "other" else (name, data))
    return files


def _members(files: list[tuple[str, bytes]], report: ImportReport) -> Iterator[MemberRecord]:
    for name, data in files:
        for line, row in csv_rows(data, name=name):
            email = get(row, *EMAIL)
            if not email:
                report.reject("member", f"{name}:{line}", "no Email Address")
                continue
            yield _member(email, row, name)


def _member(email: str, row: dict[str, str], name: str) -> MemberRecord:
    optin, confirm = parse_date(get(row, "OPTIN_TIME")), parse_date(get(row, "CONFIRM_TIME"))
    consent = {key.lower(): get(row, key) for key in CONSENT if get(row, key)}
    attributes: dict = {key: value for key, value in row.items() if key and value and column_key(key) not in _OWN}
    own = {key.lower(): get(row, key) for key in SYSTEM_COLUMNS if get(row, key)}
    if own:
        attributes["mailchimp"] = own
    if consent:
        attributes["consent"] = consent  # the confirm IP has no column of its own in Poplist
    return MemberRecord(
        email=email,
        name=" ".join(part for part in (get(row, "First Name"), get(row, "Last Name")) if part),
        attributes=attributes,
        joined_at=optin or confirm,
        confirmed_at=confirm,
        joined_ip=get(row, "OPTIN_IP") or get(row, "CONFIRM_IP") or None,
        joined_ref=f"{SYSTEM}:{Path(name).name}",
    )


def _suppressions(files: dict[str, list], report: ImportReport) -> Iterator[SuppressionRecord]:
    for kind, reason, when, why in (
        ("unsubscribed", Suppression.Reason.UNSUBSCRIBED, "UNSUB_TIME", "UNSUB_REASON"),
        ("cleaned", Suppression.Reason.CLEANED, "CLEAN_TIME", "CLEAN_CAMPAIGN_TITLE"),
    ):
        for name, data in files.get(kind, []):
            for line, row in csv_rows(data, name=name):
                email = get(row, *EMAIL)
                if not email:
                    report.reject("suppression", f"{name}:{line}", "no Email Address")
                    continue
                note = "; ".join(part for part in (f"mailchimp {kind}", get(row, when), get(row, why)) if part)
                yield SuppressionRecord(email, reason, note)
