"""REST endpoints for a list's archive: threads, messages, and a message's raw bytes."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema

from poplist.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, paginate
from poplist.archive.models import ArchivedMessage, Thread
from poplist.core.errors import NotFound
from poplist.lists.api import visible_list

PREFIX = "/lists"
router = Router(tags=["archive"])


class ThreadOut(Schema):
    id: str
    subject: str
    started_at: datetime
    last_activity: datetime
    message_count: int


class MessageOut(Schema):
    id: str
    thread: str
    message_id: str
    in_reply_to: str
    subject: str
    author_name: str
    author_email: str
    date: datetime
    has_attachments: bool
    size: int


class MessageDetail(MessageOut):
    references: list[str]
    body_text: str


def _thread_row(thread: Thread) -> dict:
    return {
        "id": thread.permalink_id,
        "subject": thread.subject,
        "started_at": thread.started_at,
        "last_activity": thread.last_activity,
        "message_count": thread.message_count,
    }


def _message_row(message: ArchivedMessage, thread_id: str) -> dict:
    return {
        "id": message.permalink_id,
        "thread": thread_id,
        "message_id": message.message_id,
        "in_reply_to": message.in_reply_to,
        "subject": message.subject,
        "author_name": message.author_name,
        "author_email": message.author_email,
        "date": message.date,
        "has_attachments": message.has_attachments,
        "size": message.size,
    }


_LISTED = ("id", "permalink_id", "thread__permalink_id", "message_id", "in_reply_to", "subject", "author_name")
_LISTED += ("author_email", "date", "has_attachments", "size")


def _messages_page(query, cursor: str | None, limit: int, order: tuple[str, ...]) -> dict:
    page = paginate(query.select_related("thread").only(*_LISTED), order=order, cursor=cursor, limit=limit)
    page["items"] = [_message_row(m, m.thread.permalink_id) for m in page["items"]]
    return page


def _message(request, address: str, message_id: str) -> ArchivedMessage:
    mailing_list = visible_list(request, address)
    found = (
        ArchivedMessage.objects.select_related("thread")
        .filter(mailing_list=mailing_list, permalink_id=message_id)
        .first()
    )
    if found is None:
        raise NotFound(_("There is no message %(id)s in this archive."), id=message_id)
    return found


@router.get("/{address}/threads", response=Page[ThreadOut], summary="Threads, most recently active first")
def list_threads(
    request, address: str, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
):
    query = Thread.objects.filter(mailing_list=visible_list(request, address))
    page = paginate(query, order=("-last_activity", "-id"), cursor=cursor, limit=limit)
    page["items"] = [_thread_row(t) for t in page["items"]]
    return page


@router.get("/{address}/threads/{thread_id}", response=ThreadOut, summary="One thread")
def get_thread(request, address: str, thread_id: str):
    thread = Thread.objects.filter(mailing_list=visible_list(request, address), permalink_id=thread_id).first()
    if thread is None:
        raise NotFound(_("There is no thread %(id)s in this archive."), id=thread_id)
    return _thread_row(thread)


@router.get(
    "/{address}/threads/{thread_id}/messages", response=Page[MessageOut], summary="A thread's messages, in order"
)
def thread_messages(
    request,
    address: str,
    thread_id: str,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
):
    thread = Thread.objects.filter(mailing_list=visible_list(request, address), permalink_id=thread_id).first()
    if thread is None:
        raise NotFound(_("There is no thread %(id)s in this archive."), id=thread_id)
    return _messages_page(ArchivedMessage.objects.filter(thread=thread), cursor, limit, ("date", "id"))


@router.get("/{address}/messages", response=Page[MessageOut], summary="Messages, newest first")
def list_messages(
    request,
    address: str,
    cursor: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    since: datetime | None = None,
    until: datetime | None = None,
):
    query = ArchivedMessage.objects.filter(mailing_list=visible_list(request, address))
    if since:
        query = query.filter(date__gte=since)
    if until:
        query = query.filter(date__lt=until)
    return _messages_page(query, cursor, limit, ("-date", "-id"))


@router.get("/{address}/messages/{message_id}", response=MessageDetail, summary="One message with its text")
def get_message(request, address: str, message_id: str):
    message = _message(request, address, message_id)
    return {
        **_message_row(message, message.thread.permalink_id),
        "references": message.references.split(),
        "body_text": message.body_text,
    }


@router.get(
    "/{address}/messages/{message_id}/raw",
    response={200: None},
    summary="The message as archived (message/rfc822)",
    openapi_extra={"responses": {200: {"description": "The raw message", "content": {"message/rfc822": {}}}}},
)
def raw_message(request, address: str, message_id: str):
    message = _message(request, address, message_id)
    response = HttpResponse(bytes(message.raw), content_type="message/rfc822")
    response["Content-Disposition"] = f'attachment; filename="{message.permalink_id}.eml"'
    return response
