"""REST endpoints for subscription requests: list them, decide one, decide several (mounted by lists/api.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Path, Query, Router, Schema

from poplist.api.bulk import bulk_answer
from poplist.api.pagination import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT, Page, paginate
from poplist.api.scope import actor
from poplist.lists import approvals
from poplist.lists.models import PendingRequest
from poplist.lists.subscriptions import get_pending

router = Router(tags=["lists"])
BULK_MAX = 1000

Kind = Literal["approval", "subscribe", "unsubscribe", "invite"]


class RequestOut(Schema):
    id: int
    kind: str = Field(description="approval: waits for an owner; subscribe, unsubscribe, invite: for the address")
    state: str
    email: str
    display_name: str
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str
    reason: str


class DecisionIn(Schema):
    decision: Literal["approve", "reject"]
    reason: str = Field("", max_length=500, description="Kept with a rejection")


class BulkDecisionIn(DecisionIn):
    ids: list[int] = Field(min_length=1, max_length=BULK_MAX)


class DecisionOut(Schema):
    id: int
    result: str = Field(description="subscribed, already_member, refused, or error")
    detail: str


class BulkDecisionOut(Schema):
    results: list[DecisionOut]
    counts: dict[str, int]


def _row(request: PendingRequest) -> dict:
    fields = ("id", "kind", "state", "email", "display_name", "created_at", "expires_at", "decided_at", "decided_by")
    return {**{name: getattr(request, name) for name in fields}, "reason": request.reason}


@router.get("/{address}/requests", response=Page[RequestOut], summary="Pending subscription requests, oldest first")
def list_requests(
    request,
    address: str,
    kind: Kind | None = Query(None, description="Only requests of this kind (default: all pending)"),
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
):
    from poplist.lists.api import visible_list

    rows = approvals.pending(visible_list(request, address), kind=kind)
    page = paginate(rows, order=("id",), cursor=cursor, limit=limit)
    page["items"] = [_row(r) for r in page["items"]]
    return page


# Declared before /{request_id}: "bulk" must not be read as an id.
@router.post("/{address}/requests/bulk", response=BulkDecisionOut, summary=f"Decide up to {BULK_MAX} requests at once")
def decide_requests(request, address: str, body: BulkDecisionIn):
    from poplist.lists.api import writable_list

    mailing_list = writable_list(request, address)
    decided = approvals.decide_many(mailing_list, body.ids, body.decision, actor=actor(request), reason=body.reason)
    return bulk_answer(decided, lambda outcome: outcome.value)


@router.get("/{address}/requests/{request_id}", response=RequestOut, summary="One subscription request")
def get_request(request, address: str, request_id: int = Path(..., ge=1, le=MAX_ID)):
    from poplist.lists.api import visible_list

    return _row(get_pending(visible_list(request, address), request_id))


@router.post("/{address}/requests/{request_id}", response=RequestOut, summary="Approve or reject a request")
def decide_request(request, address: str, body: DecisionIn, request_id: int = Path(..., ge=1, le=MAX_ID)):
    from poplist.lists.api import writable_list

    pending = get_pending(writable_list(request, address), request_id)
    approvals.decide(pending, body.decision, actor=actor(request), reason=body.reason)
    pending.refresh_from_db()
    return _row(pending)
