"""REST endpoints for bounces: a list's events and members' standing, re-enabling, the tenant's rates.

Same tokens, errors and pagination as the rest of /api/v1/ (docs/api.md): a tenant's token sees
its own lists only (another tenant's list is 404); a host-wide token sees every tenant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema

from poplist.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from poplist.api.scope import actor, tenant_scope
from poplist.bounces import queries, services
from poplist.bounces.models import BounceEvent, BounceScore, BounceStep
from poplist.core.errors import Conflict
from poplist.lists.api import visible_list, writable_list
from poplist.lists.members import get_member
from poplist.lists.models import Member

PREFIX = ""
router = Router(tags=["bounces"])

Kind = Literal["hard", "soft", "policy", "warning", "complaint", "auto_reply", "loop", "unrecognised"]


class EventOut(Schema):
    id: int
    created_at: datetime
    email: str
    member: bool  # whether the event was attributed to a member of the list
    kind: str
    source: str
    status: str
    diagnostic: str
    outcome: str
    reason: str
    sending_domain: str
    inbound_message_id: int | None
    job_id: int | None


class StandingOut(Schema):
    email: str
    score: float
    state: str  # ok, disabled (by bounces: warnings go out), or "" when the member never bounced
    member_status: str  # the member's delivery: enabled or disabled
    disabled_reason: str
    warnings_sent: int
    last_bounce_at: datetime | None
    next_warning_at: datetime | None


class StepOut(Schema):
    created_at: datetime
    action: str
    score: float
    event_id: int | None
    detail: str


class MemberBouncesOut(StandingOut):
    steps: list[StepOut]


class ReenabledOut(StandingOut):
    reenabled: bool


class RateOut(Schema):
    key: str
    deliveries: int
    hard: int
    soft: int
    policy: int
    complaints: int
    bounce_rate: float
    complaint_rate: float
    policy_rate: float


def _event_row(event: BounceEvent) -> dict:
    return {
        "id": event.pk,
        "created_at": event.created_at,
        "email": event.email,
        "member": event.member_id is not None,
        "kind": event.kind,
        "source": event.source,
        "status": event.status,
        "diagnostic": event.diagnostic,
        "outcome": event.outcome,
        "reason": event.reason,
        "sending_domain": event.sending_domain,
        "inbound_message_id": event.inbound_message_id,
        "job_id": event.job_id,
    }


def _standing(member: Member, score: BounceScore | None) -> dict:
    return {
        "email": member.email,
        "score": score.score if score else 0.0,
        "state": score.state if score else "",
        "member_status": member.status,
        "disabled_reason": member.disabled_reason,
        "warnings_sent": score.warnings_sent if score else 0,
        "last_bounce_at": score.last_bounce_at if score else None,
        "next_warning_at": score.next_warning_at if score else None,
    }


def _step_row(step: BounceStep) -> dict:
    return {
        "created_at": step.created_at,
        "action": step.action,
        "score": step.score,
        "event_id": step.event_id,
        "detail": step.detail,
    }


def _score_of(member: Member) -> BounceScore | None:
    return BounceScore.objects.filter(member=member).first()


@router.get(
    "/lists/{address}/bounces/events",
    response=Page[EventOut],
    summary="A list's bounce events, newest first",
)
def list_events(
    request: HttpRequest,
    address: str,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    kind: Kind | None = None,
    email: str | None = None,
):
    events = BounceEvent.objects.filter(mailing_list=visible_list(request, address)).defer("raw")
    if kind:
        events = events.filter(kind=kind)
    if email:
        events = events.filter(email=email.strip())
    page = paginate(events, order=("-created_at", "-id"), cursor=cursor, limit=limit)
    page["items"] = [_event_row(e) for e in page["items"]]
    return page


@router.get(
    "/lists/{address}/bounces/members",
    response=Page[StandingOut],
    summary="Members with a bounce score, the worst first",
)
def list_standings(
    request: HttpRequest,
    address: str,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    state: Literal["ok", "disabled"] | None = None,
):
    scores = BounceScore.objects.filter(mailing_list=visible_list(request, address)).select_related("member")
    if state:
        scores = scores.filter(state=state)
    page = paginate(scores, order=("-score", "id"), cursor=cursor, limit=limit)
    page["items"] = [_standing(s.member, s) for s in page["items"]]
    return page


@router.get(
    "/lists/{address}/bounces/members/{email}",
    response=MemberBouncesOut,
    summary="One member's bounce score, state and the steps taken",
)
def member_bounces(request: HttpRequest, address: str, email: str):
    mailing_list = visible_list(request, address)
    member = get_member(mailing_list, email)
    steps = BounceStep.objects.filter(mailing_list=mailing_list, email=member.email).order_by("-created_at", "-id")
    return {
        **_standing(member, _score_of(member)),
        "steps": [_step_row(step) for step in steps[:200]],
    }


@router.post(
    "/lists/{address}/bounces/members/{email}/reenable",
    response=ReenabledOut,
    summary="Turn delivery back on for a member disabled by bounces",
)
def reenable_member(request: HttpRequest, address: str, email: str):
    member = get_member(writable_list(request, address), email)
    if member.status != Member.Status.DISABLED or member.disabled_reason != Member.DisabledReason.BY_BOUNCES:
        raise Conflict(_("%(email)s is not disabled by bounces."), email=member.email)
    services.reenable(member, actor=actor(request))
    member.refresh_from_db()
    return {**_standing(member, _score_of(member)), "reenabled": True}


@router.get("/bounces/rates", response=list[RateOut], summary="Bounce and complaint rates of the tenant")
def bounce_rates(
    request: HttpRequest,
    by: Literal["tenant", "domain"] = "domain",
    days: int = Query(30, ge=1, le=366),
):
    """Per sending domain (or per tenant) over the last `days`; a tenant's token sees its own only."""
    return [rate.as_dict() for rate in queries.rates(by=by, days=days, tenant=tenant_scope(request))]
