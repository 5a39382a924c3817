"""Sympa: a list's directory (`config`, `sympa.pl --dump` files, info, footer, welcome) and its archives.

`sympa.pl --dump=LIST` writes `member.dump`, `owner.dump` and `editor.dump` in the list's
directory: one `key value` per line, a blank line between entries (Sympa::List::dump_users).
`config` is Sympa's list configuration: paragraphs separated by blank lines, each a
`key value` line or a `key` line followed by `subkey value` lines. Archives are Sympa's
`arc/LIST@DOMAIN/YYYY-MM/arctxt/N` files (one message each), or an mbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from poplist.lists.models import Member
from poplist.portability.dates import parse_date
from poplist.portability.importers.common import UNSUBSCRIBE, decode_text, list_page_url, require_path
from poplist.portability.importers.sympa_config import map_config, parse_config
from poplist.portability.mbox import mbox_archive, read_message_files
from poplist.portability.records import ArchiveSource, ImportReport, ListSource, MemberRecord, RoleRecord

SYSTEM = "sympa"
RECEPTION = {
    "digest": Member.DeliveryMode.MIME_DIGEST,
    "digestplain": Member.DeliveryMode.PLAIN_DIGEST,
    "summary": Member.DeliveryMode.PLAIN_DIGEST,  # a list of subjects: the nearest is the plain digest
    "notice": Member.DeliveryMode.PLAIN_DIGEST,
}


def read(directory: Path, *, archive: Path | None = None, address: str = "") -> ListSource:
    directory = require_path(directory, "The Sympa list directory")
    config = parse_config(_read(directory / "config")) if (directory / "config").is_file() else []
    name = directory.name
    host = directory.parent.name if "." in directory.parent.name else ""
    source = ListSource.start(
        SYSTEM, name, [str(directory), str(archive or "")], address=address or (f"{name}@{host}" if host else "")
    )
    report = source.report
    if not config:
        report.notes.append("no config file: the list has Poplist's defaults")
    map_config(config, source)
    _files(directory, source)
    source.roles = _roles(directory, config)
    dump = directory / "member.dump"
    if not dump.is_file() and (directory / "subscribers.db.dump").is_file():
        dump = directory / "subscribers.db.dump"  # the name before Sympa 6.2
    if dump.is_file():
        source.members = lambda: _members(dump, name, report)
    else:
        report.notes.append("no member.dump: run `sympa.pl --dump=LIST` on the Sympa server first")
    if archive is not None:
        source.archives.extend(_archives(require_path(archive, "The Sympa archive")))
    return source


def _read(path: Path) -> str:
    return decode_text(path.read_bytes())


def entries(text: str) -> Iterator[dict[str, str]]:
    """The `key value` blocks of a dump file."""
    entry: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if entry:
                yield entry
            entry = {}
            continue
        key, _sep, value = line.strip().partition(" ")
        entry[key] = value.strip()
    if entry:
        yield entry


def _members(dump: Path, name: str, report: ImportReport) -> Iterator[MemberRecord]:
    for entry in entries(_read(dump)):
        if not entry.get("email"):
            report.reject("member", entry, "an entry without email")
            continue
        record = MemberRecord(
            email=entry["email"],
            name=entry.get("gecos", ""),
            joined_at=parse_date(entry.get("date") or entry.get("date_epoch")),
            joined_ref=f"{SYSTEM}:{name}",
        )
        reception = entry.get("reception", "mail")
        record.delivery_mode = RECEPTION.get(reception, Member.DeliveryMode.REGULAR)
        if reception == "nomail" or entry.get("suspend") == "1":
            record.status = Member.Status.DISABLED
            record.disabled_reason = Member.DisabledReason.BY_USER
            record.disabled_at = parse_date(entry.get("startdate"))
        record.attributes = _member_attributes(entry, reception)
        yield record


def _member_attributes(entry: dict[str, str], reception: str) -> dict:
    attributes: dict = {}
    if reception not in ("mail", "nomail", *RECEPTION):
        attributes["sympa_reception"] = reception  # txt, html, urlize, not_me
    if entry.get("visibility") == "conceal":
        attributes["conceal"] = True
    for key in ("bounce", "bounce_score", "topics", "enddate", "included"):
        if entry.get(key):
            attributes[f"sympa_{key}"] = entry[key]
    custom = entry.get("custom_attribute", "")
    attributes.update(
        {f"custom_{k}": v for k, v in re.findall(r'<custom_attribute id="([^"]+)">\s*<value>(.*?)</value>', custom)}
    )
    return attributes


def _roles(directory: Path, config: list) -> list[RoleRecord]:
    roles: list[RoleRecord] = []
    for file, role in (("owner.dump", Member.Role.OWNER), ("editor.dump", Member.Role.MODERATOR)):
        if (directory / file).is_file():
            roles += [
                RoleRecord(e["email"], role, e.get("gecos", ""))
                for e in entries(_read(directory / file))
                if e.get("email")
            ]
    if not roles:  # before Sympa 6.2, owners and editors were paragraphs of the config file
        for key, value in config:
            if key in ("owner", "editor") and isinstance(value, dict) and value.get("email"):
                roles.append(
                    RoleRecord(
                        value["email"],
                        Member.Role.OWNER if key == "owner" else Member.Role.MODERATOR,
                        value.get("gecos", ""),
                    )
                )
    return roles


def _files(directory: Path, source: ListSource) -> None:
    info = directory / "info"
    if info.is_file() and _read(info).strip():
        description = source.settings.get("description", "")
        source.set("info", "description", "\n\n".join(p for p in (description, _read(info).strip()) if p))
    for name in ("message_footer", "message.footer"):
        if (directory / name).is_file():
            source.set(name, "footer", _template(_read(directory / name).strip(), source))
            break
    for name in ("message_header", "message.header"):
        if (directory / name).is_file() and _read(directory / name).strip():
            source.report.skip(name, _read(directory / name).strip(), "Poplist adds a footer to posts, not a header")
    blocklist = directory / "search_filters" / "blocklist.txt"
    if blocklist.is_file():
        lines = [line.strip() for line in _read(blocklist).splitlines() if line.strip() and not line.startswith("#")]
        # Sympa's blocklist uses * as a wildcard; address patterns are ^regexes.
        source.defer(
            "banned_addresses",
            "search_filters/blocklist.txt",
            ["^" + re.escape(line).replace("\\*", ".*") + "$" if "*" in line else line for line in lines],
        )
    welcome = directory / "mail_tt2" / "welcome.tt2"
    if welcome.is_file():
        body = _read(welcome).split("\n\n", 1)[-1]  # the template starts with its own headers
        source.set("mail_tt2/welcome.tt2", "welcome_text", _template(body.strip(), source))


def _template(text: str, source: ListSource) -> str:
    """The common [% … %] variables of Sympa's templates; others are left as written and noted."""
    local, _at, domain = source.address.rpartition("@")
    values = {
        "list.name": local,
        "list.host": domain,
        "list.domain": domain,
        "listname": local,
        "list.subject": source.settings.get("description", ""),
        "conf.wwsympa_url": list_page_url(source.address),
        "mailto(list.name)": source.address,
    }

    def substitute(match: re.Match) -> str:
        key = match.group(1).strip()
        if key in values:
            return values[key]
        if "unsubscribe" in key or "signoff" in key:
            return UNSUBSCRIBE
        source.report.notes.append(f"template variable [% {key} %] has no Poplist equivalent and was left as written")
        return match.group(0)

    return re.sub(r"\[%-?\s*(.*?)\s*-?%\]", substitute, text)


def _archives(path: Path) -> list[ArchiveSource]:
    if path.is_file():
        return [mbox_archive(path)]
    numbered = [p for p in path.rglob("*") if p.is_file() and p.parent.name == "arctxt" and p.name.isdigit()]
    if numbered:
        numbered.sort(key=lambda p: (p.parent.parent.name, int(p.name)))
        stats = {}
        return [ArchiveSource(str(path), lambda: read_message_files(numbered, stats), stats)]
    mboxes = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in (".mbox", ".gz"))
    return [mbox_archive(mbox) for mbox in mboxes]
