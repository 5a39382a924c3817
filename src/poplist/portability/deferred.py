"""Source settings whose home is another domain that cannot take them yet, and how they get there later.

Importers keep ban lists, sender filters and header filters as `ImportedSetting` rows, one
per key below, with a value in one shape whatever the source system was. When the domain
that owns the feature lands, it registers one function per key:

    from poplist.portability.deferred import applier

    @applier("banned_addresses")
    def apply_bans(mailing_list, patterns):
        for pattern in patterns:
            inbound.services.ban(mailing_list, pattern, actor="migration")

and `apply_pending` (run after every import, and by `poplist import-from apply-pending`)
applies the rows waiting for it and stamps them, so nothing a customer configured is lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from poplist.lists.models import MailingList
from poplist.portability.models import ImportedSetting

# key -> what its value holds. Address patterns are strings: an address, or a regular
# expression when it starts with "^" (Mailman's convention, which Sympa and Mailman 3 share).
KEYS = {
    "banned_addresses": "list of address patterns that may not subscribe",
    "nonmember_accept": "list of address patterns whose posts are accepted without being members",
    "nonmember_hold": "list of address patterns whose posts are held for moderation",
    "nonmember_reject": "list of address patterns whose posts are rejected",
    "nonmember_discard": "list of address patterns whose posts are discarded",
    "header_filters": "list of {header, pattern, action} (action: accept, hold, reject, discard)",
    "acceptable_aliases": "list of address patterns that count as the list's own address",
    "content_filter": "{filter_types, pass_types, filter_extensions, pass_extensions, action, …}",
    "reply_to_address": "an explicit Reply-To address",
    "moderation_notices": "{member, nonmember}: texts sent with a rejection",
}

Applier = Callable[[MailingList, Any], None]
APPLIERS: dict[str, Applier] = {}


def applier(key: str) -> Callable[[Applier], Applier]:
    """Register the function that applies one kind of imported setting."""
    if key not in KEYS:
        raise ValueError(f"unknown imported setting {key!r}; add it to portability.deferred.KEYS")

    def register(function: Applier) -> Applier:
        APPLIERS[key] = function
        return function

    return register


def apply_pending(mailing_list: MailingList) -> list[str]:
    """Apply every waiting setting that now has an applier; returns the keys applied."""
    applied: list[str] = []
    waiting = ImportedSetting.objects.filter(
        mailing_list=mailing_list, applied_at__isnull=True, key__in=list(APPLIERS)
    ).order_by("key")
    for setting in waiting:
        with transaction.atomic():
            APPLIERS[setting.key](mailing_list, setting.value)
            setting.applied_at = timezone.now()
            setting.save(update_fields=["applied_at"])
        applied.append(setting.key)
    return applied
