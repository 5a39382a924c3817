"""Writing one list read from another system: all or nothing, private archives never public, re-runs idempotent."""

from __future__ import annotations

import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.accounts.models import Domain, Tenant
from poplist.accounts.services import add_domain
from poplist.archive.models import ArchivedMessage
from poplist.archive.services import archive_message
from poplist.core import addresses
from poplist.core.errors import Conflict, InvalidInput
from poplist.lists import services as lists
from poplist.lists.models import SETTABLE_FIELDS, MailingList, Member
from poplist.portability import deferred
from poplist.portability.dates import parse_date
from poplist.portability.members import add_migrated_members
from poplist.portability.models import ImportedSetting, MigrationRun
from poplist.portability.records import ArchiveSource, ImportReport, ListSource, SuppressionRecord

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*\S", re.IGNORECASE | re.MULTILINE)
_DATE = re.compile(rb"^date:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def import_list(
    tenant: Tenant, source: ListSource, *, address: str = "", actor: str = "", merge: bool = False
) -> ImportReport:
    """Create (or, on a re-run, update) the list and bring in everything `source` holds, in one transaction."""
    report = source.report
    report.address = _target_address(address or source.address, source)
    _default_private_archive(source)
    with transaction.atomic():
        mailing_list = _target_list(tenant, report.address, source, merge=merge, actor=actor)
        # Settings first: the archive policy is in place before the first message is archived,
        # and nobody sees the list before this transaction commits.
        _apply_settings(mailing_list, source, actor)
        _keep_deferred(mailing_list, source)
        _add_roles(mailing_list, source, actor)
        for record in source.suppressions():
            _suppress(mailing_list, record, report)
        add_migrated_members(mailing_list, source.members(), report, ref=f"{source.system}:{source.name}")
        for archive in source.archives:
            _archive(mailing_list, archive, report)
        run = MigrationRun.objects.create(
            tenant=tenant,
            mailing_list=mailing_list,
            system=source.system,
            source=source.source[:500],
            source_list=source.name[:254],
            actor=actor,
            report=report.as_dict(),
            finished_at=timezone.now(),
        )
        report.run_id = run.pk
        applied = deferred.apply_pending(mailing_list)
        if applied:
            report.notes.append(f"applied now: {', '.join(applied)}")
    return report


def _target_address(address: str, source: ListSource) -> str:
    if not address:
        raise InvalidInput(
            _("The source does not say at which address %(name)s should live; give it with --list ADDRESS."),
            name=source.name,
        )
    return addresses.normalize(address).lower()


def _default_private_archive(source: ListSource) -> None:
    """A source that does not say who may read its archives gets private ones: never publish by guessing."""
    if "archive_policy" not in source.settings:
        source.settings["archive_policy"] = MailingList.ArchivePolicy.PRIVATE
        source.report.notes.append("the source has no archive policy: archives are private until an owner opens them")


def _target_list(tenant: Tenant, address: str, source: ListSource, *, merge: bool, actor: str) -> MailingList:
    report = source.report
    existing = MailingList.objects.filter(address=address).select_related("tenant", "domain").first()
    if existing is not None:
        if existing.tenant_id != tenant.pk:
            raise Conflict(_("The list %(address)s belongs to another tenant."), address=address)
        again = MigrationRun.objects.filter(mailing_list=existing, system=source.system).exists()
        if not (again or merge):
            raise Conflict(
                _(
                    "The list %(address)s already exists and was not imported from %(system)s; "
                    "add --merge to import into it (its settings will be replaced by the source's)."
                ),
                address=address,
                system=source.system,
            )
        report.notes.append("re-run of an earlier import" if again else "merged into an existing list")
        return existing
    domain_name = address.rpartition("@")[2]
    if not Domain.objects.filter(name=domain_name).exists():
        add_domain(tenant, domain_name)
        report.notes.append(f"domain {domain_name} added to tenant {tenant.slug}")
    language = source.language if source.language in dict(MailingList.LANGUAGES) else "en"
    if language != source.language:
        report.skip("language", source.language, "Poplist speaks English and French; the list uses English")
    mailing_list = lists.create_list(
        tenant,
        address,
        display_name=str(source.settings.get("display_name", ""))[:200],
        description=str(source.settings.get("description", "")),
        language=language,
        actor=actor,
    )
    report.created = True
    return mailing_list


def _apply_settings(mailing_list: MailingList, source: ListSource, actor: str) -> None:
    """Validate each setting alone, so that one odd value is reported instead of failing the whole list."""
    values: dict[str, str] = {}
    for key, value in source.settings.items():
        if key not in SETTABLE_FIELDS:
            source.report.skip(key, value, "not a Poplist list setting")
            continue
        field = MailingList._meta.get_field(key)
        max_length = getattr(field, "max_length", None)
        if isinstance(value, str) and max_length and len(value) > max_length:
            source.report.notes.append(f"{key} cut to {max_length} characters")
            value = value[:max_length]
        try:
            field.clean(value, mailing_list)
        except ValidationError as exc:
            source.report.skip(key, value, " ".join(exc.messages))
            continue
        values[key] = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    lists.update_settings(mailing_list, values, actor=actor)
    mailing_list.refresh_from_db()


def _keep_deferred(mailing_list: MailingList, source: ListSource) -> None:
    now = timezone.now()
    for key, (source_key, value) in sorted(source.deferred.items()):
        ImportedSetting.objects.update_or_create(
            mailing_list=mailing_list,
            key=key,
            defaults={
                "system": source.system,
                "source_key": source_key[:200],
                "value": value,
                "updated_at": now,
                "applied_at": None,
            },
        )
        count = len(value) if isinstance(value, list | dict) else 1
        source.report.deferred.append({"key": key, "source": source_key, "count": count})


def _add_roles(mailing_list: MailingList, source: ListSource, actor: str) -> None:
    for record in source.roles:
        try:
            lists.add_role(mailing_list, record.email, record.role, actor=actor, name=record.name[:200])
        except InvalidInput as exc:
            source.report.reject(record.role, record.email, str(exc.params.get("reason", exc)))
            continue
        source.report.count("owners" if record.role == Member.Role.OWNER else "moderators")


def _suppress(mailing_list: MailingList, record: SuppressionRecord, report: ImportReport) -> None:
    try:
        email = addresses.normalize(record.email)
    except InvalidInput as exc:
        report.reject("suppression", record.email, str(exc.params.get("reason", exc)))
        return
    if record.tenant_wide:
        lists.suppress(None, email, record.reason, tenant=mailing_list.tenant, note=record.note[:500])
    else:
        lists.suppress(mailing_list, email, record.reason, note=record.note[:500])
    report.count(f"suppressed_{record.reason}")


def _archive(mailing_list: MailingList, archive: ArchiveSource, report: ImportReport) -> None:
    before = ArchivedMessage.objects.filter(mailing_list=mailing_list).count()
    read = 0
    for raw, separator_date in archive.messages():
        read += 1
        head = raw.split(b"\r\n\r\n", 1)[0]
        if not _MESSAGE_ID.search(head):
            report.count("messages_without_message_id")
        archive_message(mailing_list, raw, received_at=_fallback_date(head, separator_date, report), live=False)
    archived = ArchivedMessage.objects.filter(mailing_list=mailing_list).count() - before
    report.count("messages_read", read)
    report.count("messages_archived", archived)
    report.count("messages_already_archived", read - archived)
    for key, value in archive.stats.items():
        if key != "messages_read":
            report.count(key, value)


def _fallback_date(head: bytes, separator_date: datetime | None, report: ImportReport) -> datetime | None:
    """The date used when the Date header cannot be read by the archive: an odd format, the separator, or none."""
    match = _DATE.search(head)
    text = match.group(1).decode("latin-1").strip() if match else ""
    from email.utils import parsedate_to_datetime

    try:
        if text and parsedate_to_datetime(text) is not None:
            return separator_date
    except (TypeError, ValueError, IndexError, OverflowError):
        pass
    odd = parse_date(text)
    if odd is not None:
        report.count("messages_with_odd_date")
        return odd
    report.count("messages_dated_by_separator" if separator_date else "messages_without_date")
    return separator_date
