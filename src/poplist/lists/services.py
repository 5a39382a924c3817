"""Creating and configuring lists, and managing their rosters as an owner."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils.translation import gettext_lazy as _

from poplist.accounts.models import Domain, Tenant
from poplist.core import addresses
from poplist.core.errors import Conflict, InvalidInput, NotFound, QuotaExceeded
from poplist.lists.models import SETTABLE_FIELDS, MailingList, Member, MemberEvent, Suppression

_LOCAL_PART = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62})")
# Suffixes the inbound router gives a meaning to: a list may not be named so that it clashes.
RESERVED_SUFFIXES = (
    "-request",
    "-owner",
    "-bounces",
    "-confirm",
    "-join",
    "-leave",
    "-subscribe",
    "-unsubscribe",
)


def create_list(
    tenant: Tenant,
    address: str,
    *,
    display_name: str = "",
    style: str = "discussion",
    owners: list[str] = (),
    description: str = "",
    language: str = "en",
    actor: str = "",
) -> MailingList:
    local_part, _at, domain_name = addresses.normalize(address).rpartition("@")
    local_part = local_part.lower()
    if not _LOCAL_PART.fullmatch(local_part) or local_part.endswith(RESERVED_SUFFIXES):
        raise InvalidInput(
            _(
                "%(name)s cannot name a list: use lower-case letters, digits, dots, dashes and underscores, "
                "not ending in -request, -owner, -bounces…"
            ),
            name=local_part,
        )
    try:
        domain = Domain.objects.get(name=domain_name, tenant=tenant)
    except Domain.DoesNotExist:
        raise NotFound(
            _("The domain %(domain)s does not belong to %(tenant)s."), domain=domain_name, tenant=tenant.slug
        ) from None
    if style not in MailingList.Style.values:
        raise InvalidInput(_("Unknown list style %(style)s (discussion or announce)."), style=style)
    with transaction.atomic():
        if MailingList.objects.filter(tenant=tenant).count() >= tenant.quota_lists:
            raise QuotaExceeded(
                _("%(tenant)s has reached its quota of %(n)s lists."),
                tenant=tenant.slug,
                n=tenant.quota_lists,
            )
        if MailingList.objects.filter(address=f"{local_part}@{domain_name}").exists():
            raise Conflict(_("The list %(address)s already exists."), address=f"{local_part}@{domain_name}")
        mailing_list = MailingList.objects.create(
            tenant=tenant,
            domain=domain,
            local_part=local_part,
            address=f"{local_part}@{domain_name}",
            display_name=display_name or local_part.capitalize(),
            style=style,
            description=description,
            language=language,
        )
        for owner in owners:
            add_role(mailing_list, owner, Member.Role.OWNER, actor=actor)
    return mailing_list


def update_settings(mailing_list: MailingList, values: dict[str, str], *, actor: str = "") -> list[str]:
    """Change settings from text values (CLI, forms); validates all before saving any. Returns changed keys."""
    changed: list[str] = []
    for key, text in values.items():
        if key not in SETTABLE_FIELDS:
            raise InvalidInput(_("%(key)s is not a list setting; see docs/list-settings.md."), key=key)
        field = MailingList._meta.get_field(key)
        try:
            value = field.clean(_parse_text(field, text), mailing_list)
        except ValidationError as exc:
            raise InvalidInput(_("%(key)s: %(error)s"), key=key, error=" ".join(exc.messages)) from None
        if getattr(mailing_list, key) != value:
            setattr(mailing_list, key, value)
            changed.append(key)
    if changed:
        mailing_list.save(update_fields=changed)
        MemberEvent.objects.create(
            mailing_list=mailing_list,
            email="",
            action="settings_changed",
            actor=actor,
            detail={"keys": changed},
        )
    return changed


def _parse_text(field, text):
    if field.get_internal_type() == "BooleanField" and isinstance(text, str):
        lowered = text.strip().lower()
        if lowered in {"1", "true", "yes", "on", "oui"}:
            return True
        if lowered in {"0", "false", "no", "off", "non"}:
            return False
        raise ValidationError(f"expected yes or no, not {text!r}")
    return text


def add_role(mailing_list: MailingList, email: str, role: str, *, actor: str = "", name: str = "") -> Member:
    """Make an address an owner or moderator (they receive owner notices, not posts)."""
    email = addresses.normalize(email)
    member, created = Member.objects.get_or_create(
        mailing_list=mailing_list,
        email=email,
        role=role,
        defaults={"display_name": name, "joined_via": Member.Via.OWNER, "joined_ref": actor},
    )
    if created:
        MemberEvent.objects.create(mailing_list=mailing_list, email=email, action=f"{role}_added", actor=actor)
    return member


def remove_role(mailing_list: MailingList, email: str, role: str, *, actor: str = "") -> None:
    deleted, _ = Member.objects.filter(mailing_list=mailing_list, email=addresses.normalize(email), role=role).delete()
    if not deleted:
        raise NotFound(_("%(email)s is not a %(role)s of %(list)s."), email=email, role=role, list=mailing_list)
    MemberEvent.objects.create(mailing_list=mailing_list, email=email, action=f"{role}_removed", actor=actor)


def get_list(address: str, tenant: Tenant | None = None) -> MailingList:
    """The list at `address`; with a tenant, only that tenant's (another tenant's list is 'not found')."""
    try:
        normalized = addresses.normalize(address)
    except InvalidInput:
        normalized = address
    query = MailingList.objects.select_related("domain", "tenant")
    if tenant is not None:
        query = query.filter(tenant=tenant)
    try:
        return query.get(address=normalized.lower())
    except MailingList.DoesNotExist:
        raise NotFound(_("There is no list %(address)s."), address=address) from None


def tenant_member_count(tenant: Tenant) -> int:
    return MailingList.objects.filter(tenant=tenant).aggregate(n=Sum("member_count"))["n"] or 0


def check_member_quota(tenant: Tenant, adding: int) -> None:
    if tenant_member_count(tenant) + adding > tenant.quota_members:
        raise QuotaExceeded(
            _("%(tenant)s has reached its quota of %(n)s members."),
            tenant=tenant.slug,
            n=tenant.quota_members,
        )


def bump_member_count(mailing_list: MailingList, delta: int) -> None:
    if delta:
        MailingList.objects.filter(pk=mailing_list.pk).update(member_count=F("member_count") + delta)


def recount_members(mailing_list: MailingList) -> int:
    """Repair the stored count from the rows (maintenance; the services keep it right)."""
    count = Member.objects.filter(mailing_list=mailing_list, role=Member.Role.MEMBER).count()
    MailingList.objects.filter(pk=mailing_list.pk).update(member_count=count)
    return count


def is_suppressed(mailing_list: MailingList, email: str) -> bool:
    return (
        Suppression.objects.filter(tenant_id=mailing_list.tenant_id, email=email)
        .filter(mailing_list__isnull=True)
        .exists()
        or Suppression.objects.filter(mailing_list=mailing_list, email=email).exists()
    )


def suppress(
    mailing_list: MailingList | None, email: str, reason: str, *, tenant: Tenant | None = None, note: str = ""
) -> None:
    tenant_id = mailing_list.tenant_id if mailing_list else tenant.pk
    Suppression.objects.update_or_create(
        tenant_id=tenant_id, mailing_list=mailing_list, email=email, defaults={"reason": reason, "note": note}
    )


def lift_suppression(mailing_list: MailingList, email: str) -> None:
    """Their own confirmed request overrides an earlier departure from this list."""
    Suppression.objects.filter(mailing_list=mailing_list, email=email).delete()


def delete_list(mailing_list: MailingList, *, actor: str = "") -> None:
    """Delete a list with its members, requests, archive and history (an owner's explicit wish)."""
    import logging

    logging.getLogger(__name__).info("list %s deleted by %s", mailing_list.address, actor or "?")
    with transaction.atomic():
        mailing_list.delete()
