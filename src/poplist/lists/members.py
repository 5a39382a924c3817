"""An owner's direct changes to the roster (add, remove, change options)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from poplist.core import addresses
from poplist.core.errors import Conflict, InvalidInput, NotFound
from poplist.lists import services
from poplist.lists.models import MailingList, Member, MemberEvent
from poplist.lists.subscriptions import Origin, Outcome, subscribe, unsubscribe


@dataclass(frozen=True)
class Change:
    email: str
    result: str  # added, already_member, suppressed, invalid, removed, not_a_member
    detail: str = ""


def add_members(
    mailing_list: MailingList, emails: list[str], *, origin: Origin, welcome: bool = True, force: bool = False
) -> list[Change]:
    """Add each address now; suppressed addresses are skipped unless `force` (the owner has their consent)."""
    changes: list[Change] = []
    for raw in emails:
        try:
            email = addresses.normalize(raw)
        except InvalidInput as exc:
            changes.append(Change(raw, "invalid", str(exc)))
            continue
        if not force and services.is_suppressed(mailing_list, email):
            changes.append(Change(email, "suppressed", "left or was cleaned; use --force with their consent"))
            continue
        try:
            subscribe(mailing_list, email, origin=origin, welcome=welcome)
        except Conflict:
            changes.append(Change(email, "already_member"))
        else:
            changes.append(Change(email, "added"))
    return changes


def remove_members(
    mailing_list: MailingList, emails: list[str], *, origin: Origin, goodbye: bool = False
) -> list[Change]:
    changes: list[Change] = []
    for raw in emails:
        try:
            email = addresses.normalize(raw)
        except InvalidInput as exc:
            changes.append(Change(raw, "invalid", str(exc)))
            continue
        outcome = unsubscribe(mailing_list, email, origin=origin, by_owner=True, goodbye=goodbye)
        changes.append(Change(email, "removed" if outcome == Outcome.UNSUBSCRIBED else "not_a_member"))
    return changes


def get_member(mailing_list: MailingList, email: str, role: str = Member.Role.MEMBER) -> Member:
    try:
        return Member.objects.get(mailing_list=mailing_list, email=addresses.normalize(email), role=role)
    except Member.DoesNotExist:
        raise NotFound(_("%(email)s is not a member of %(list)s."), email=email, list=mailing_list.address) from None


OPTION_FIELDS = {"delivery_mode", "moderated", "display_name"}


def set_member_options(member: Member, *, actor: str, **options) -> list[str]:
    """Change a member's delivery mode, moderation flag or name."""
    unknown = set(options) - OPTION_FIELDS
    if unknown:
        raise InvalidInput(_("Unknown member option %(name)s."), name=", ".join(sorted(unknown)))
    if "delivery_mode" in options and options["delivery_mode"] not in Member.DeliveryMode.values:
        raise InvalidInput(_("Unknown delivery mode %(mode)s."), mode=options["delivery_mode"])
    changed = [key for key, value in options.items() if getattr(member, key) != value]
    with transaction.atomic():
        for key in changed:
            setattr(member, key, options[key])
        if changed:
            member.save(update_fields=changed)
            MemberEvent.objects.create(
                mailing_list=member.mailing_list,
                email=member.email,
                action="options_changed",
                actor=actor,
                detail={k: options[k] for k in changed},
            )
    return changed


def set_member_enabled(member: Member, enabled: bool, *, reason: str, actor: str) -> None:
    """Enable or disable delivery (by_user, by_owner, by_bounces)."""
    from django.utils import timezone

    with transaction.atomic():
        member.status = Member.Status.ENABLED if enabled else Member.Status.DISABLED
        member.disabled_reason = "" if enabled else reason
        member.disabled_at = None if enabled else timezone.now()
        member.save(update_fields=["status", "disabled_reason", "disabled_at"])
        MemberEvent.objects.create(
            mailing_list=member.mailing_list,
            email=member.email,
            action="enabled" if enabled else "disabled",
            actor=actor,
            detail={"reason": reason},
        )
