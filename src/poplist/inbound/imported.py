"""Kept settings of imported lists that inbound owns: bans, accepted and discarded non-members, header filters.

Registered with `portability.deferred` when the app is ready; `apply_pending` runs them after
every import (and `poplist import-from apply-pending` for lists imported before this existed).
An entry that cannot be used (a broken pattern) is logged and skipped: the others still apply.
An entry already there is kept as it is.
"""

from __future__ import annotations

import logging
from typing import Any

from poplist.core.errors import Conflict, InvalidInput
from poplist.inbound import filters
from poplist.inbound.models import HeaderFilter, SenderFilter
from poplist.lists.models import MailingList
from poplist.portability.deferred import applier

log = logging.getLogger(__name__)
ACTOR = "import"


def _senders(mailing_list: MailingList, kind: str, patterns: Any) -> None:
    for pattern in patterns or []:
        try:
            filters.add_sender(mailing_list, kind, str(pattern), actor=ACTOR)
        except Conflict:
            continue
        except InvalidInput as exc:
            log.warning("imported %s entry %r of %s skipped: %s", kind, pattern, mailing_list.address, exc)


@applier("banned_addresses")
def apply_bans(mailing_list: MailingList, patterns: Any) -> None:
    _senders(mailing_list, SenderFilter.Kind.BAN, patterns)


@applier("nonmember_accept")
def apply_accepted(mailing_list: MailingList, patterns: Any) -> None:
    _senders(mailing_list, SenderFilter.Kind.ACCEPT, patterns)


@applier("nonmember_discard")
def apply_discarded(mailing_list: MailingList, patterns: Any) -> None:
    # A ban is exactly that here: the banned rule discards the sender's posts.
    _senders(mailing_list, SenderFilter.Kind.BAN, patterns)


@applier("header_filters")
def apply_header_filters(mailing_list: MailingList, rules: Any) -> None:
    existing = set(HeaderFilter.objects.filter(mailing_list=mailing_list).values_list("header", "pattern", "action"))
    for rule in rules or []:
        try:
            header, pattern, action = str(rule["header"]), str(rule["pattern"]), str(rule.get("action") or "hold")
        except (KeyError, TypeError):
            log.warning("imported header filter %r of %s skipped: not a rule", rule, mailing_list.address)
            continue
        if (header, pattern, action) in existing:
            continue
        try:
            added = filters.add_header_filter(mailing_list, header, pattern, action)
            existing.add((added.header, added.pattern, added.action))
        except InvalidInput as exc:
            log.warning("imported header filter %r of %s skipped: %s", rule, mailing_list.address, exc)
