"""REST endpoints for held messages: list, read, and decide (approve, accept, reject, discard), one or in bulk."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from poplist.api.bulk import bulk_answer
from poplist.api.scope import actor, require_writable, tenant_scope
from poplist.inbound import moderation
from poplist.inbound.render import readable
from poplist.lists import services

PREFIX = "/lists"
router = Router(tags=["moderation"])
BULK_MAX = 1000


class HeldOut(Schema):
    id: int
    state: str
    sender: str
    subject: str
    rule: str
    reason: str
    received_at: datetime
    expires_at: datetime


class HeldDetail(HeldOut):
    text: str
    html: str
    attachments: list[tuple[str, str, int]]


class DecisionIn(Schema):
    decision: Literal["approve", "accept", "reject", "discard"]
    reason: str = ""


class BulkDecisionIn(DecisionIn):
    ids: list[int] = Field(min_length=1, max_length=BULK_MAX)


class BulkResultOut(Schema):
    id: int
    result: str = Field(description="the held post's new state (approved, rejected, discarded), or error")
    detail: str


class BulkDecisionOut(Schema):
    results: list[BulkResultOut]
    counts: dict[str, int]


def _row(item) -> dict:
    return {
        "id": item.pk,
        "state": item.state,
        "sender": item.inbound.sender,
        "subject": item.inbound.subject,
        "rule": item.rule,
        "reason": item.reason,
        "received_at": item.inbound.received_at,
        "expires_at": item.expires_at,
    }


def _list(request: HttpRequest, address: str):
    return services.get_list(address, tenant=tenant_scope(request))


@router.get("/{address}/held", response=list[HeldOut], summary="Posts waiting for a moderator")
def list_held(request, address: str):
    return [_row(item) for item in moderation.pending(_list(request, address))[:1000]]


# Declared before /held/{held_id}: "bulk" must not be read as an id.
@router.post("/{address}/held/bulk", response=BulkDecisionOut, summary=f"Decide up to {BULK_MAX} held posts at once")
def decide_held_bulk(request, address: str, body: BulkDecisionIn):
    mailing_list = _list(request, address)
    require_writable(request, mailing_list.tenant)
    decided = moderation.decide_many(mailing_list, body.ids, body.decision, actor=actor(request), reason=body.reason)
    return bulk_answer(decided, lambda held: held.state)


@router.get("/{address}/held/{held_id}", response=HeldDetail, summary="One held post, its text made safe")
def get_held(request, address: str, held_id: int):
    item = moderation.get_held(_list(request, address), held_id)
    view = readable(bytes(item.inbound.raw))
    return {**_row(item), "text": view.text, "html": view.html, "attachments": view.attachments}


@router.post("/{address}/held/{held_id}", response=HeldOut, summary="Decide a held post")
def decide_held(request, address: str, held_id: int, body: DecisionIn):
    mailing_list = _list(request, address)
    require_writable(request, mailing_list.tenant)
    item = moderation.decide(
        moderation.get_held(mailing_list, held_id), body.decision, actor=actor(request), reason=body.reason
    )
    return _row(item)
