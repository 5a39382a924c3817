"""Owners' decisions on subscription requests, one or several at once (the console and the API call these)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from poplist.core.errors import Conflict, InvalidInput, PoplistError
from poplist.lists.models import MailingList, PendingRequest
from poplist.lists.subscriptions import Outcome, approve, get_pending, refuse

DECISIONS = ("approve", "reject")


def pending(mailing_list: MailingList, *, kind: str | None = None):
    """Requests of the list still waiting (for an owner, or for the address to confirm), oldest first."""
    rows = PendingRequest.objects.filter(mailing_list=mailing_list, state=PendingRequest.State.PENDING)
    return rows.filter(kind=kind) if kind else rows


def decide(request: PendingRequest, decision: str, *, actor: str, reason: str = "") -> Outcome:
    """`approve` (the address joins) or `reject` (it does not; the reason is kept) a request awaiting approval."""
    if request.kind != PendingRequest.Kind.APPROVAL:
        raise Conflict(_("Only requests awaiting an owner's approval can be decided; this one waits for its address."))
    if decision == "approve":
        return approve(request, actor=actor)
    if decision == "reject":
        refuse(request, actor=actor, reason=reason[:500])
        return Outcome.REFUSED
    raise InvalidInput(_("Unknown decision %(decision)s (approve or reject)."), decision=decision[:20])


def decide_many(
    mailing_list: MailingList, ids: list[int], decision: str, *, actor: str, reason: str = ""
) -> list[tuple[int, Outcome | PoplistError]]:
    """The same decision on several requests of one list, each in its own transaction: a refusal (handled
    already, not this list's) never undoes the others. Returns (id, outcome or the error) per distinct id."""
    if decision not in DECISIONS:
        raise InvalidInput(_("Unknown decision %(decision)s (approve or reject)."), decision=decision[:20])
    results: list[tuple[int, Outcome | PoplistError]] = []
    for request_id in dict.fromkeys(ids):
        try:
            request = get_pending(mailing_list, request_id)
            results.append((request_id, decide(request, decision, actor=actor, reason=reason)))
        except PoplistError as exc:
            results.append((request_id, exc))
    return results
