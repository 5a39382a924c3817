"""The order of the rules and the action of each: declared here, in one place, for every list.

The first rule that matches decides, with its own action or the one below. A rule whose
action comes out as `accept` (a non-member on a list that accepts them) lets the post go on
through the later rules, so an accepted non-member's 50 MB post is still held for size.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from django.utils import translation

from poplist.inbound.post import Post
from poplist.inbound.rules import (
    administrivia,
    announce_only,
    banned,
    emergency,
    empty_body,
    header_filters,
    implicit_destination,
    loop,
    max_recipients,
    max_size,
    member_moderated,
    nonmember,
    suspended,
    suspicious_headers,
    unparseable,
)

ACCEPT = "accept"
HOLD = "hold"
REJECT = "reject"
DISCARD = "discard"

# (rule, action when it matches; None: the rule carries a per-list action)
ORDER: list[tuple[ModuleType, str | None]] = [
    (loop, DISCARD),
    (unparseable, HOLD),
    (suspended, HOLD),
    (banned, DISCARD),
    (emergency, HOLD),
    (administrivia, HOLD),
    (suspicious_headers, HOLD),
    (announce_only, HOLD),
    (member_moderated, None),
    (nonmember, None),
    (header_filters, None),
    (implicit_destination, HOLD),
    (max_recipients, HOLD),
    (max_size, HOLD),
    (empty_body, HOLD),
]


@dataclass(frozen=True)
class Verdict:
    action: str
    rule: str = ""
    reason: str = ""


def decide(post: Post) -> Verdict:
    """Run the rules in order, in the list's language (the reasons are shown to people)."""
    with translation.override(post.mailing_list.language):
        for rule, default_action in ORDER:
            hit = rule.check(post)
            if hit is None:
                continue
            action = hit.action or default_action or HOLD
            if action == ACCEPT:
                continue
            return Verdict(action, rule.NAME, hit.reason[:500])
    return Verdict(ACCEPT)
