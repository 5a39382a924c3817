"""The neutral shape every importer reads its source into, and the report it gives back.

An importer only parses: it turns a source system's files or API into one `ListSource`
per list (settings in Poplist's terms, roles, members with their consent records,
suppressions, archives) and notes in its `ImportReport` what it mapped and what it could
not. `portability.services.import_list` then writes it, all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

KEPT_REJECTIONS = 200
SHOWN_VALUE = 200  # characters of a source value kept in the report


def shown(value: Any) -> str:
    """A short, printable form of a source value for the report."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= SHOWN_VALUE else text[: SHOWN_VALUE - 1] + "…"


@dataclass
class MemberRecord:
    """One subscriber as the source knew them; `email` is as written in the source (normalized on write)."""

    email: str
    name: str = ""
    delivery_mode: str = "regular"  # Member.DeliveryMode
    status: str = "enabled"  # Member.Status
    disabled_reason: str = ""  # Member.DisabledReason
    disabled_at: datetime | None = None
    moderated: bool | None = None  # None: the list's new_members_moderated
    attributes: dict = field(default_factory=dict)
    joined_at: datetime | None = None
    confirmed_at: datetime | None = None
    joined_ip: str | None = None
    joined_ref: str = ""  # default: "<system>:<list>"


@dataclass
class RoleRecord:
    email: str
    role: str  # owner or moderator
    name: str = ""


@dataclass
class SuppressionRecord:
    email: str
    reason: str  # Suppression.Reason
    note: str = ""
    tenant_wide: bool = False  # every list of the tenant (listmonk's blocklist), not just this one


@dataclass
class ArchiveSource:
    """One archive: `messages()` yields (raw bytes, fallback date) in the source's order."""

    label: str
    messages: Callable[[], Iterator[tuple[bytes, datetime | None]]]
    stats: dict[str, int] = field(default_factory=dict)  # filled while reading: mbox traps met


@dataclass
class ImportReport:
    system: str
    source: str
    source_list: str = ""
    address: str = ""
    created: bool = False
    mapped: list[dict] = field(default_factory=list)  # {source, target, value}
    unmapped: list[dict] = field(default_factory=list)  # {source, value, reason}
    deferred: list[dict] = field(default_factory=list)  # {key, source, count}
    counts: dict[str, int] = field(default_factory=dict)
    rejections: list[dict] = field(default_factory=list)  # {what, value, reason}
    notes: list[str] = field(default_factory=list)
    run_id: int | None = None

    def map(self, source: str, target: str, value: Any) -> None:
        self.mapped.append({"source": source, "target": target, "value": shown(value)})

    def skip(self, source: str, value: Any, reason: str) -> None:
        self.unmapped.append({"source": source, "value": shown(value), "reason": reason})

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def reject(self, what: str, value: Any, reason: str) -> None:
        self.count("rejected")
        if len(self.rejections) < KEPT_REJECTIONS:
            self.rejections.append({"what": what, "value": shown(value), "reason": reason})

    def as_dict(self) -> dict:
        return {
            "system": self.system,
            "source": self.source,
            "source_list": self.source_list,
            "address": self.address,
            "created": self.created,
            "mapped": self.mapped,
            "unmapped": self.unmapped,
            "deferred": self.deferred,
            "counts": self.counts,
            "rejections": self.rejections,
            "notes": self.notes,
        }


@dataclass
class ListSource:
    """Everything one list brings from its source system."""

    system: str
    source: str  # file paths or the API URL (never credentials)
    name: str  # the list's name in the source
    report: ImportReport
    address: str = ""  # the posting address the source gives, when it has one
    display_name: str = ""
    description: str = ""
    language: str = "en"
    settings: dict[str, Any] = field(default_factory=dict)  # SETTABLE_FIELDS -> value
    # Poplist key -> (source key, value) for settings another domain will own (portability.deferred).
    deferred: dict[str, tuple[str, Any]] = field(default_factory=dict)
    roles: list[RoleRecord] = field(default_factory=list)
    members: Callable[[], Iterable[MemberRecord]] = lambda: ()
    suppressions: Callable[[], Iterable[SuppressionRecord]] = lambda: ()
    archives: list[ArchiveSource] = field(default_factory=list)

    @classmethod
    def start(
        cls, system: str, name: str, sources: list[str], *, address: str = "", language: str = "en"
    ) -> ListSource:
        """A new ListSource with its empty report; `sources` are the files or URL read (never credentials)."""
        where = ", ".join(s for s in sources if s)
        report = ImportReport(system=system, source=where, source_list=name)
        return cls(system=system, source=where, name=name, report=report, address=address, language=language)

    def set(self, source_key: str, target: str, value: Any) -> None:
        """Map one source setting onto a Poplist list setting, and note it."""
        self.settings[target] = value
        self.report.map(source_key, target, value)

    def defer(self, key: str, source_key: str, value: Any) -> None:
        """Keep a setting Poplist cannot apply yet (see portability.deferred); empty values are not kept."""
        if value:
            self.deferred[key] = (source_key, value)
