"""The pipeline's rules: one predicate per module, each returning why it matched, or None.

Every module defines `NAME` and `check(post) -> Hit | None`. The order and the action of
each rule for a list are declared in one place, `poplist.inbound.chain`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    reason: str  # one sentence for moderators and senders, already in the list's language
    action: str | None = None  # overrides the chain's action (per-list settings, header filters)
