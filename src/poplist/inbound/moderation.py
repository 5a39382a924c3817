"""The moderation queue: hold a post, then approve, reject, discard, or accept and whitelist its author.

The web console, the REST API, `poplist held` and moderators' replies by mail all call these.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.message import EmailMessage

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.core import addresses, tokens
from poplist.core.autoreply import is_auto_reply
from poplist.core.errors import Conflict, InvalidInput, NotFound, PoplistError
from poplist.core.mime import header_text, part_text
from poplist.delivery.notices import send_list_notice
from poplist.inbound import dmarc
from poplist.inbound.accept import accept_post
from poplist.inbound.chain import Verdict
from poplist.inbound.models import HeldMessage, InboundMessage, SenderFilter
from poplist.inbound.post import Post
from poplist.lists.models import MailingList, Member

State = HeldMessage.State
_BOUNCE_LIKE = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+-].*)?$|-bounces(\+.*)?$", re.IGNORECASE
)


def held_url(mailing_list: MailingList) -> str:
    return f"{settings.BASE_URL}/console/lists/{mailing_list.address}/held/"


def moderators(mailing_list: MailingList) -> list[str]:
    return list(
        Member.objects.filter(mailing_list=mailing_list, role__in=[Member.Role.OWNER, Member.Role.MODERATOR])
        .values_list("email", flat=True)
        .distinct()
    )


def hold(post: Post, inbound: InboundMessage, verdict: Verdict) -> HeldMessage:
    """Queue a post for the moderators and tell them, each with a reply address that decides it."""
    mailing_list = post.mailing_list
    token = tokens.new_token()
    held = HeldMessage.objects.create(
        inbound=inbound,
        mailing_list=mailing_list,
        rule=verdict.rule,
        reason=verdict.reason,
        token_digest=tokens.token_digest(token),
        expires_at=timezone.now() + timedelta(days=mailing_list.held_expiry_days or 14),
    )
    reply_address = f"{mailing_list.local_part}-confirm+{token}@{mailing_list.domain.name}"
    context = {
        "held": held,
        "sender": inbound.sender,
        "subject": inbound.subject,
        "reason": verdict.reason,
        "url": held_url(mailing_list),
        "reply_address": reply_address,
        "days": mailing_list.held_expiry_days,
    }
    for moderator in moderators(mailing_list):
        send_list_notice("held_for_moderation", mailing_list, moderator, context, reply_to=reply_address)
    return held


def safe_to_answer(address: str, mail_from: str, message: EmailMessage | None) -> bool:
    """Only answer an author who is also the envelope sender, never a bounce or an autoresponder."""
    if not address or not mail_from:
        return False
    if address.lower() != mail_from.strip().strip("<>").lower():
        return False  # the From header may be forged; the envelope is what the MTA would bounce to
    if _BOUNCE_LIKE.search(address.partition("@")[0]):
        return False
    if message is not None:
        if is_auto_reply(message):
            return False
        if header_text(message, "Precedence").strip().lower() in {"bulk", "junk", "list"}:
            return False
    return True


def notify_rejected(post: Post, reason: str) -> None:
    if safe_to_answer(post.from_address, post.mail_from, post.message):
        subject = post.header("Subject")
        send_list_notice("post_rejected", post.mailing_list, post.from_address, {"reason": reason, "subject": subject})


# --- Reading the queue ---------------------------------------------------------------------------


def pending(mailing_list: MailingList):
    return (
        HeldMessage.objects.filter(mailing_list=mailing_list, state=State.PENDING)
        .select_related("inbound")
        .order_by("created_at", "id")
    )


def get_held(mailing_list: MailingList, held_id: int) -> HeldMessage:
    try:
        return HeldMessage.objects.select_related("inbound", "mailing_list__domain", "mailing_list__tenant").get(
            mailing_list=mailing_list, pk=held_id
        )
    except HeldMessage.DoesNotExist:
        raise NotFound(
            _("There is no held message %(id)s on %(list)s."), id=held_id, list=mailing_list.address
        ) from None


def _lock(held: HeldMessage) -> HeldMessage:
    fresh = (
        HeldMessage.objects.select_for_update()
        .select_related("inbound", "mailing_list__domain", "mailing_list__tenant")
        .get(pk=held.pk)
    )
    if fresh.state != State.PENDING:
        raise Conflict(_("This held message has been handled already (%(state)s)."), state=fresh.state)
    return fresh


def _close(held: HeldMessage, state: str, *, actor: str, reason: str = "") -> None:
    held.state = state
    held.decided_at = timezone.now()
    held.decided_by = actor[:254]
    held.decision_reason = reason[:500]
    held.token_digest = None  # single use
    held.save(update_fields=["state", "decided_at", "decided_by", "decision_reason", "token_digest"])


def _post_of(held: HeldMessage) -> Post:
    from poplist.inbound.receive import build_post, make_incoming

    return build_post(held.mailing_list, make_incoming(held.inbound.mail_from, bytes(held.inbound.raw)))


# --- Deciding ------------------------------------------------------------------------------------


def approve(held: HeldMessage, *, actor: str) -> HeldMessage:
    """Distribute the post as if it had passed the rules."""
    with transaction.atomic():
        held = _lock(held)
        mailing_list = held.mailing_list
        if not mailing_list.tenant.is_active:
            raise Conflict(_("The account this list belongs to is suspended; posts are not distributed."))
        post = _post_of(held)
        strict = False
        if mailing_list.dmarc_mitigation == MailingList.Dmarc.WHEN_STRICT and post.from_address:
            strict = dmarc.is_strict(addresses.domain_of(post.from_address))
        from poplist.inbound.receive import message_id_of

        message_id = held.inbound.message_id or message_id_of(post.header("Message-ID"), post.raw, mailing_list)
        accept_post(post, message_id, author_strict=strict)
        _close(held, State.APPROVED, actor=actor)
    return held


def accept_and_whitelist(held: HeldMessage, *, actor: str) -> HeldMessage:
    """Approve, and accept the author's later posts without moderation."""
    with transaction.atomic():
        held = approve(held, actor=actor)
        author = held.inbound.sender
        if author:
            SenderFilter.objects.get_or_create(
                mailing_list=held.mailing_list,
                kind=SenderFilter.Kind.ACCEPT,
                pattern=author,
                defaults={"created_by": actor[:254]},
            )
    return held


def reject(held: HeldMessage, *, actor: str, reason: str = "") -> HeldMessage:
    """Refuse the post and tell its author why (when the author can be told safely)."""
    with transaction.atomic():
        held = _lock(held)
        _close(held, State.REJECTED, actor=actor, reason=reason)
        post = _post_of(held)
        notify_rejected(post, reason or held.reason)
    return held


def discard(held: HeldMessage, *, actor: str) -> HeldMessage:
    with transaction.atomic():
        held = _lock(held)
        _close(held, State.DISCARDED, actor=actor)
    return held


DECISIONS = {"approve": approve, "accept": accept_and_whitelist, "discard": discard}


def decide(held: HeldMessage, decision: str, *, actor: str, reason: str = "") -> HeldMessage:
    """One entry point for bulk actions: approve | accept (and whitelist) | reject | discard."""
    if decision == "reject":
        return reject(held, actor=actor, reason=reason)
    if decision not in DECISIONS:
        raise InvalidInput(_("Unknown decision %(decision)s."), decision=decision)
    return DECISIONS[decision](held, actor=actor)


def decide_many(
    mailing_list: MailingList, ids: list[int], decision: str, *, actor: str, reason: str = ""
) -> list[tuple[int, HeldMessage | PoplistError]]:
    """The same decision on several held posts of one list, each in its own transaction (one already
    decided never undoes the others). Returns (id, the held post or the error) per distinct id."""
    if decision != "reject" and decision not in DECISIONS:
        raise InvalidInput(_("Unknown decision %(decision)s."), decision=decision)
    results: list[tuple[int, HeldMessage | PoplistError]] = []
    for held_id in dict.fromkeys(ids):
        try:
            results.append((held_id, decide(get_held(mailing_list, held_id), decision, actor=actor, reason=reason)))
        except PoplistError as exc:
            results.append((held_id, exc))
    return results


def decide_by_mail(mailing_list: MailingList, token: str, message: EmailMessage | None, sender: str) -> bool:
    """A moderator answered a held-message notice. False when the token is not a held message's."""
    held = HeldMessage.objects.filter(mailing_list=mailing_list, token_digest=tokens.token_digest(token)).first()
    if held is None:
        return False
    command, reason = _first_command(message)
    if command in {"approve", "approved", "ok", "accept", "reject", "discard"}:
        decision = {"approved": "approve", "ok": "approve"}.get(command, command)
        decide(held, decision, actor=sender, reason=reason)
    else:
        raise InvalidInput(_("Reply with approve, accept, reject (and a reason) or discard."))
    return True


def _first_command(message: EmailMessage | None) -> tuple[str, str]:
    if message is None:
        return "", ""
    try:
        part = message.get_body(("plain",))
    except Exception:
        part = None
    text = part_text(part) if part is not None else ""
    for line in text.splitlines()[:50]:
        stripped = line.strip()
        if not stripped or stripped.startswith(">"):
            continue
        word, _, rest = stripped.partition(" ")
        return word.lower().rstrip(":.,"), rest.strip()
    return "", ""


def expire_held(now: datetime | None = None) -> int:
    """Held posts past their list's delay expire; their authors are told when that is safe."""
    now = now or timezone.now()
    count = 0
    due = HeldMessage.objects.filter(state=State.PENDING, expires_at__lt=now).values_list("pk", flat=True)[:500]
    for held_id in list(due):
        with transaction.atomic():
            try:
                held = _lock(HeldMessage(pk=held_id))
            except Conflict:
                continue
            _close(held, State.EXPIRED, actor="expiry")
            post = _post_of(held)
            if safe_to_answer(post.from_address, post.mail_from, post.message):
                send_list_notice(
                    "held_expired",
                    held.mailing_list,
                    post.from_address,
                    {"subject": held.inbound.subject, "days": held.mailing_list.held_expiry_days},
                )
            count += 1
    return count
