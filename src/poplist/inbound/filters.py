"""Owners' sender filters (bans, accepted senders) and header filters."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from poplist.core import addresses
from poplist.core.errors import Conflict, InvalidInput, NotFound
from poplist.inbound.models import HeaderFilter, SenderFilter
from poplist.lists.models import MailingList


def _pattern(pattern: str) -> str:
    pattern = pattern.strip()
    if pattern.startswith("^"):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InvalidInput(_("%(pattern)s is not a valid pattern: %(error)s"), pattern=pattern, error=exc) from None
        return pattern
    return addresses.normalize(pattern)


def add_sender(mailing_list: MailingList, kind: str, pattern: str, *, actor: str = "") -> SenderFilter:
    """Ban an address or ^pattern, or accept it (non-member posts and announce lists)."""
    if kind not in SenderFilter.Kind.values:
        raise InvalidInput(_("Unknown sender filter %(kind)s."), kind=kind)
    pattern = _pattern(pattern)
    try:
        with transaction.atomic():
            return SenderFilter.objects.create(
                mailing_list=mailing_list, kind=kind, pattern=pattern, created_by=actor[:254]
            )
    except IntegrityError:
        raise Conflict(_("%(pattern)s is already there."), pattern=pattern) from None


def remove_sender(mailing_list: MailingList, kind: str, pattern: str) -> None:
    deleted, _n = SenderFilter.objects.filter(mailing_list=mailing_list, kind=kind, pattern=pattern.strip()).delete()
    if not deleted:
        raise NotFound(_("%(pattern)s is not there."), pattern=pattern)


def senders(mailing_list: MailingList, kind: str | None = None) -> list[SenderFilter]:
    found = SenderFilter.objects.filter(mailing_list=mailing_list).order_by("kind", "pattern")
    return list(found.filter(kind=kind) if kind else found)


def add_header_filter(mailing_list: MailingList, header: str, pattern: str, action: str) -> HeaderFilter:
    header = header.strip().rstrip(":")
    if not header or not re.fullmatch(r"[\x21-\x39\x3b-\x7e]+", header):
        raise InvalidInput(_("%(header)s is not a header name."), header=header)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise InvalidInput(_("%(pattern)s is not a valid pattern: %(error)s"), pattern=pattern, error=exc) from None
    if action not in MailingList.Action.values:
        raise InvalidInput(_("Unknown action %(action)s."), action=action)
    position = HeaderFilter.objects.filter(mailing_list=mailing_list).count()
    return HeaderFilter.objects.create(
        mailing_list=mailing_list, header=header, pattern=pattern, action=action, position=position
    )


def remove_header_filter(mailing_list: MailingList, filter_id: int) -> None:
    deleted, _n = HeaderFilter.objects.filter(mailing_list=mailing_list, pk=filter_id).delete()
    if not deleted:
        raise NotFound(_("There is no header filter %(id)s."), id=filter_id)


def header_filters(mailing_list: MailingList) -> list[HeaderFilter]:
    """The list's header filters, in the order the rule tries them."""
    return list(HeaderFilter.objects.filter(mailing_list=mailing_list).order_by("position", "id"))
