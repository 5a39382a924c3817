"""Google Groups: a Google Vault export (mbox files and `<export>-group-membership.csv`).

A Vault Groups export is a folder (or the ZIP of it) holding `<export>-N.zip` files of
mbox files, `<export>-group-membership.csv` (for each member: the member's address, the
group's address, when they joined and their role MEMBER, MANAGER or OWNER),
`<export>-metadata.xml` and checksums. Google documents the fields, not the header
spelling, so columns are found by name whatever their case or punctuation.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import InvalidInput
from poplist.lists.models import Member
from poplist.portability.dates import parse_date
from poplist.portability.importers.common import csv_rows, get, require_path
from poplist.portability.mbox import read_mbox, ungzip
from poplist.portability.records import ArchiveSource, ImportReport, ListSource, MemberRecord, RoleRecord

SYSTEM = "google-groups"
GROUP = ("Group Email", "Group", "Group Address", "group_email")
MEMBER = ("Member Email", "Member", "Member Address", "Email", "member_email")
ROLE = ("Member Role", "Role")
TYPE = ("Member Type", "Type")
JOINED = (
    "Joined",
    "Join Date",
    "Date Joined",
    "Joined Date",
    "Member Since",
    "Membership Creation Time",
    "Create Time",
)
ROLES = {"OWNER": Member.Role.OWNER, "MANAGER": Member.Role.MODERATOR}


def read(path: Path, *, group: str = "", address: str = "", domain: str = "") -> list[ListSource]:
    """One ListSource per group in the export (or only `group`)."""
    entries = list(_entries(require_path(path, "The Vault export")))
    memberships = [(name, data) for name, data in entries if name.lower().endswith("group-membership.csv")]
    if not memberships:
        raise InvalidInput(
            _("%(path)s holds no *-group-membership.csv: is it a Google Vault Groups export?"), path=str(path)
        )
    rows = [row for name, data in memberships for _line, row in csv_rows(data, name=name)]
    groups = sorted({get(row, *GROUP).lower() for row in rows if get(row, *GROUP)})
    if group:
        groups = [g for g in groups if g == group.lower()]
        if not groups:
            raise InvalidInput(_("The export has no group %(group)s."), group=group)
    if address and len(groups) > 1:
        raise InvalidInput(_("The export holds several groups; choose one with --group to give its --list address."))
    mboxes = [(name, opener) for name, opener in _mbox_openers(path, entries)]
    sources = []
    for group_address in groups:
        target = address or (f"{group_address.partition('@')[0]}@{domain}" if domain else group_address)
        report = ImportReport(system=SYSTEM, source=str(path), source_list=group_address)
        source = ListSource(system=SYSTEM, source=str(path), name=group_address, report=report, address=target)
        mine = [row for row in rows if get(row, *GROUP).lower() == group_address]
        source.roles = _roles(mine)
        source.members = lambda mine=mine, report=report: _members(mine, report)
        for name, opener in _mboxes_of(group_address, mboxes, single=len(groups) == 1):
            stats: dict[str, int] = {}
            source.archives.append(ArchiveSource(name, lambda o=opener, s=stats: read_mbox(o, s), stats))
        report.notes.append("Vault exports no group settings: the list has Poplist's defaults")
        for name, _data in entries:
            if name.lower().endswith(".xml"):
                report.skip(name, "file", "Vault's message metadata: the messages' own headers are used")
        sources.append(source)
    return sources


def _entries(path: Path) -> Iterator[tuple[str, bytes | None]]:
    """(name, bytes) of the export's small files; mbox files are listed with None and read when needed."""
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            name = str(child.relative_to(path))
            yield name, None if _is_big(name) else child.read_bytes()
        return
    if not zipfile.is_zipfile(path):
        raise InvalidInput(_("%(path)s is neither a folder nor a ZIP file."), path=str(path))
    with zipfile.ZipFile(path) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if not info.is_dir():
                yield info.filename, None if _is_big(info.filename) else archive.read(info)


def _is_big(name: str) -> bool:
    return name.lower().endswith((".mbox", ".zip", ".mbox.gz"))


def _mbox_openers(path: Path, entries: list[tuple[str, bytes | None]]) -> Iterator[tuple[str, object]]:
    """Every mbox of the export, also those inside Vault's `<export>-N.zip` files, as (name, opener)."""
    for name, _data in entries:
        lower = name.lower()
        if lower.endswith((".mbox", ".mbox.gz")):
            yield name, _opener(path, [name])
        elif lower.endswith(".zip"):
            with _open(path, [name]) as inner, zipfile.ZipFile(inner) as archive:
                for member in sorted(archive.namelist()):
                    if member.lower().endswith((".mbox", ".mbox.gz")):
                        yield f"{name}/{member}", _opener(path, [name, member])


def _open(path: Path, chain: list[str]):
    """Open `chain[-1]` inside the ZIPs (or folder) named before it; a seekable stream."""
    # Streams all the way down (ZipExtFile is seekable): a 10 GB mbox is never held in memory.
    if path.is_dir():  # noqa: SIM108 - two different openers
        stream = open(path / chain[0], "rb")  # noqa: SIM115 - returned to the caller, who closes it
    else:
        stream = zipfile.ZipFile(path).open(chain[0])  # noqa: SIM115 - likewise
    for member in chain[1:]:
        stream = zipfile.ZipFile(stream).open(member)  # noqa: SIM115 - likewise
    return stream


def _opener(path: Path, chain: list[str]):
    return lambda: ungzip(_open(path, chain))


def _mboxes_of(group: str, mboxes: list, *, single: bool) -> list:
    local = group.partition("@")[0]
    named = [(n, o) for n, o in mboxes if group in n.lower() or Path(n).stem.lower().startswith(local)]
    return mboxes if single and not named else named


def _roles(rows: list[dict[str, str]]) -> list[RoleRecord]:
    return [
        RoleRecord(get(row, *MEMBER), ROLES[get(row, *ROLE).upper()])
        for row in rows
        if get(row, *ROLE).upper() in ROLES and get(row, *MEMBER)
    ]


def _members(rows: list[dict[str, str]], report: ImportReport) -> Iterator[MemberRecord]:
    for row in rows:
        kind = get(row, *TYPE).upper()
        if kind == "GROUP":
            report.skip("member", get(row, *MEMBER), "a nested group is not an address: import that group itself")
            continue
        # Owners and managers of a Google Group receive its mail: they are members too.
        role = get(row, *ROLE).upper() or "MEMBER"
        yield MemberRecord(
            email=get(row, *MEMBER),
            joined_at=parse_date(get(row, *JOINED)),
            attributes={"google_role": role, **({"google_type": kind} if kind else {})},
        )
