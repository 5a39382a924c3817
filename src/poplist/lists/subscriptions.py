"""The subscription lifecycle: double opt-in, confirmation, approval, unsubscription.

The web pages, the API, the CLI and email commands all call these functions; each one
commits its change and the notices it causes in one transaction.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from poplist.core import addresses, tokens
from poplist.core.errors import Conflict, InvalidInput, NotFound
from poplist.delivery.notices import send_list_notice
from poplist.lists import services
from poplist.lists.models import MailingList, Member, MemberEvent, PendingRequest, Suppression

CONFIRM_LIFETIME = timedelta(days=7)
APPROVAL_LIFETIME = timedelta(days=30)
UNSUBSCRIBE_PURPOSE = "unsubscribe"


class Outcome(enum.Enum):
    SUBSCRIBED = "subscribed"
    CONFIRMATION_SENT = "confirmation_sent"
    AWAITING_APPROVAL = "awaiting_approval"
    ALREADY_MEMBER = "already_member"
    UNSUBSCRIBED = "unsubscribed"
    NOT_A_MEMBER = "not_a_member"
    REFUSED = "refused"


@dataclass(frozen=True)
class Origin:
    """How a request reached us, kept as the consent record."""

    via: str = Member.Via.WEB
    ip: str | None = None
    ref: str = ""  # Message-ID of a mail command, import file, …
    actor: str = ""  # who acted: the address itself, an owner, "cli"


def confirm_url(token: str) -> str:
    return f"{settings.BASE_URL}/confirm/{token}/"


def unsubscribe_token(member: Member) -> str:
    return tokens.sign_id(UNSUBSCRIBE_PURPOSE, member.pk)


def unsubscribe_url(member: Member) -> str:
    return f"{settings.BASE_URL}/u/{unsubscribe_token(member)}/"


# --- Subscribing -------------------------------------------------------------------------------


def request_subscription(
    mailing_list: MailingList,
    email: str,
    *,
    name: str = "",
    origin: Origin = Origin(),
    delivery_mode: str = Member.DeliveryMode.REGULAR,
) -> Outcome:
    """Someone asks to join: confirm by mail, queue for an owner, or (open lists) join at once."""
    email = addresses.normalize(email)
    name = _clean_name(name)
    with transaction.atomic():
        if Member.objects.filter(mailing_list=mailing_list, email=email, role=Member.Role.MEMBER).exists():
            return Outcome.ALREADY_MEMBER
        policy = mailing_list.subscription_policy
        data = _request_data(origin, delivery_mode=delivery_mode)
        # A suppressed address must prove it wants back in, even on an open list; so must a
        # mail command, whose sender may be forged.
        if (
            policy == MailingList.SubscriptionPolicy.OPEN
            and not services.is_suppressed(mailing_list, email)
            and origin.via != Member.Via.EMAIL
        ):
            subscribe(mailing_list, email, name=name, origin=origin, delivery_mode=delivery_mode)
            return Outcome.SUBSCRIBED
        if policy == MailingList.SubscriptionPolicy.MODERATE:
            _queue_approval(mailing_list, email, name, data)
            return Outcome.AWAITING_APPROVAL
        _send_confirmation(mailing_list, email, name, PendingRequest.Kind.SUBSCRIBE, data)
        MemberEvent.objects.create(
            mailing_list=mailing_list,
            email=email,
            action="subscription_requested",
            via=origin.via,
            ip=origin.ip,
            ref=origin.ref,
            actor=origin.actor,
        )
    return Outcome.CONFIRMATION_SENT


def invite(mailing_list: MailingList, email: str, *, name: str = "", origin: Origin) -> PendingRequest:
    """An owner invites an address; it joins only by confirming (imports with --mode confirm)."""
    email = addresses.normalize(email)
    return _send_confirmation(mailing_list, email, _clean_name(name), PendingRequest.Kind.INVITE, _request_data(origin))


def subscribe(
    mailing_list: MailingList,
    email: str,
    *,
    name: str = "",
    origin: Origin = Origin(),
    delivery_mode: str = Member.DeliveryMode.REGULAR,
    confirmed_at: datetime | None = None,
    requested_at: datetime | None = None,
    welcome: bool = True,
    attributes: dict | None = None,
) -> Member:
    """Add a member now (after their confirmation, an owner's approval, or an owner's own action)."""
    email = addresses.normalize(email)
    with transaction.atomic():
        services.check_member_quota(mailing_list.tenant, 1)
        try:
            with transaction.atomic():
                member = Member.objects.create(
                    mailing_list=mailing_list,
                    email=email,
                    display_name=_clean_name(name),
                    role=Member.Role.MEMBER,
                    delivery_mode=delivery_mode,
                    joined_via=origin.via,
                    joined_at=requested_at or timezone.now(),
                    joined_ip=origin.ip,
                    joined_ref=origin.ref[:255],
                    confirmed_at=confirmed_at,
                    moderated=mailing_list.new_members_moderated,
                    attributes=attributes or {},
                )
        except IntegrityError:
            raise Conflict(
                _("%(email)s is already a member of %(list)s."), email=email, list=mailing_list.address
            ) from None
        services.bump_member_count(mailing_list, 1)
        if confirmed_at is not None:
            services.lift_suppression(mailing_list, email)
        MemberEvent.objects.create(
            mailing_list=mailing_list,
            email=email,
            action="subscribed",
            via=origin.via,
            ip=origin.ip,
            ref=origin.ref[:255],
            actor=origin.actor,
        )
        if welcome and mailing_list.send_welcome:
            send_list_notice(
                "welcome", mailing_list, email, {"member": member, "unsubscribe_url": unsubscribe_url(member)}
            )
        if mailing_list.notify_owners_on_membership:
            _notify_owners(mailing_list, "owner_subscribed", {"email": email, "via": origin.via})
    return member


def confirm(token: str, *, origin: Origin = Origin()) -> tuple[Outcome, PendingRequest]:
    """Act on a confirmation link or `confirm TOKEN` command. Single use; refuses expired and forged tokens."""
    now = timezone.now()
    with transaction.atomic():
        request = pending_by_token(token)
        if request.kind == PendingRequest.Kind.UNSUBSCRIBE:
            outcome = _leave(request.mailing_list, request.email, origin=origin)
        elif request.kind == PendingRequest.Kind.APPROVAL:
            raise InvalidInput(_("This link is not valid."))
        elif (
            request.mailing_list.subscription_policy == MailingList.SubscriptionPolicy.CONFIRM_THEN_MODERATE
            and request.kind == PendingRequest.Kind.SUBSCRIBE
        ):
            data = {**request.data, "confirmed_at": now.isoformat(), "confirm_ip": origin.ip}
            _queue_approval(request.mailing_list, request.email, request.display_name, data)
            outcome = Outcome.AWAITING_APPROVAL
        else:
            outcome = _join_from_request(request, confirmed_at=now, origin=origin)
        _close(request, PendingRequest.State.DONE, by=origin.actor or request.email)
    return outcome, request


def approve(request: PendingRequest, *, actor: str) -> Outcome:
    """An owner approves a subscription request."""
    with transaction.atomic():
        request = _lock_pending(request, PendingRequest.Kind.APPROVAL)
        confirmed = request.data.get("confirmed_at")
        outcome = _join_from_request(
            request,
            confirmed_at=datetime.fromisoformat(confirmed) if confirmed else None,
            origin=Origin(
                via=request.data.get("via", Member.Via.WEB),
                ip=request.data.get("ip"),
                ref=request.data.get("ref", ""),
                actor=actor,
            ),
        )
        _close(request, PendingRequest.State.DONE, by=actor)
    return outcome


def refuse(request: PendingRequest, *, actor: str, reason: str = "") -> None:
    with transaction.atomic():
        request = _lock_pending(request, PendingRequest.Kind.APPROVAL)
        _close(request, PendingRequest.State.REFUSED, by=actor, reason=reason)
        MemberEvent.objects.create(
            mailing_list=request.mailing_list,
            email=request.email,
            action="subscription_refused",
            actor=actor,
            detail={"reason": reason},
        )
        send_list_notice("subscription_refused", request.mailing_list, request.email, {"reason": reason})


# --- Leaving --------------------------------------------------------------------------------------


def request_unsubscription(mailing_list: MailingList, email: str, *, origin: Origin = Origin()) -> Outcome:
    """Someone asks by mail or form to leave: a confirmation goes to the address (a sender can be forged)."""
    email = addresses.normalize(email)
    with transaction.atomic():
        if not Member.objects.filter(mailing_list=mailing_list, email=email, role=Member.Role.MEMBER).exists():
            return Outcome.NOT_A_MEMBER
        _send_confirmation(mailing_list, email, "", PendingRequest.Kind.UNSUBSCRIBE, _request_data(origin))
    return Outcome.CONFIRMATION_SENT


def member_for_unsubscribe_token(token: str) -> Member | None:
    """The member an unsubscribe link names; None when they have left already. Forged: InvalidInput."""
    member_id = tokens.unsign_id(UNSUBSCRIBE_PURPOSE, token)
    if member_id is None:
        raise InvalidInput(_("This unsubscribe link is not valid."))
    return Member.objects.select_related("mailing_list__domain").filter(pk=member_id).first()


def unsubscribe_by_token(token: str, *, origin: Origin = Origin()) -> Outcome:
    """RFC 8058 one-click and the unsubscribe page: idempotent, a second call changes nothing."""
    member = member_for_unsubscribe_token(token)
    if member is None:
        return Outcome.NOT_A_MEMBER
    return _leave(member.mailing_list, member.email, origin=origin)


def unsubscribe(
    mailing_list: MailingList,
    email: str,
    *,
    origin: Origin = Origin(),
    by_owner: bool = False,
    goodbye: bool = True,
) -> Outcome:
    return _leave(mailing_list, addresses.normalize(email), origin=origin, by_owner=by_owner, goodbye=goodbye)


def _leave(
    mailing_list: MailingList, email: str, *, origin: Origin, by_owner: bool = False, goodbye: bool = True
) -> Outcome:
    with transaction.atomic():
        deleted, _ = Member.objects.filter(mailing_list=mailing_list, email=email, role=Member.Role.MEMBER).delete()
        if not deleted:
            return Outcome.NOT_A_MEMBER
        reason = Suppression.Reason.REMOVED if by_owner else Suppression.Reason.UNSUBSCRIBED
        services.suppress(mailing_list, email, reason, note=origin.via)
        MemberEvent.objects.create(
            mailing_list=mailing_list,
            email=email,
            action="removed" if by_owner else "unsubscribed",
            via=origin.via,
            ip=origin.ip,
            ref=origin.ref[:255],
            actor=origin.actor,
        )
        if goodbye and mailing_list.send_goodbye:
            send_list_notice("goodbye", mailing_list, email, {"by_owner": by_owner})
        if mailing_list.notify_owners_on_membership:
            _notify_owners(mailing_list, "owner_unsubscribed", {"email": email, "via": origin.via})
        # Last: the list row is every concurrent unsubscribe's one shared lock; hold it the shortest time.
        services.bump_member_count(mailing_list, -1)
    return Outcome.UNSUBSCRIBED


# --- Pending requests ------------------------------------------------------------------------------


def pending_approvals(mailing_list: MailingList):
    return PendingRequest.objects.filter(
        mailing_list=mailing_list, kind=PendingRequest.Kind.APPROVAL, state=PendingRequest.State.PENDING
    ).order_by("created_at")


def get_pending(mailing_list: MailingList, request_id: int) -> PendingRequest:
    try:
        return PendingRequest.objects.select_related("mailing_list").get(mailing_list=mailing_list, pk=request_id)
    except PendingRequest.DoesNotExist:
        raise NotFound(_("There is no request %(id)s on %(list)s."), id=request_id, list=mailing_list) from None


def expire_pending(now: datetime | None = None) -> int:
    now = now or timezone.now()
    return PendingRequest.objects.filter(state=PendingRequest.State.PENDING, expires_at__lt=now).update(
        state=PendingRequest.State.EXPIRED, decided_at=now
    )


def pending_by_token(token: str) -> PendingRequest:
    """The pending request a confirmation token names; refuses forged, used and expired tokens."""
    request = (
        PendingRequest.objects.select_related("mailing_list__domain", "mailing_list__tenant")
        .filter(token_digest=tokens.token_digest(token.strip()))
        .first()
    )
    if request is None:
        raise InvalidInput(_("This confirmation link is not valid. Check that you copied all of it."))
    if request.state == PendingRequest.State.DONE:
        raise Conflict(_("This confirmation link has been used already; there is nothing more to do."))
    if request.state != PendingRequest.State.PENDING or request.expires_at < timezone.now():
        raise InvalidInput(_("This confirmation link has expired. Please make your request again."))
    return request


def _lock_pending(request: PendingRequest, kind: str) -> PendingRequest:
    fresh = PendingRequest.objects.select_for_update().select_related("mailing_list__domain").get(pk=request.pk)
    if fresh.kind != kind or fresh.state != PendingRequest.State.PENDING:
        raise Conflict(_("This request has been handled already."))
    return fresh


def _join_from_request(request: PendingRequest, *, confirmed_at: datetime | None, origin: Origin) -> Outcome:
    mailing_list = request.mailing_list
    if Member.objects.filter(mailing_list=mailing_list, email=request.email, role=Member.Role.MEMBER).exists():
        return Outcome.ALREADY_MEMBER
    requested = request.data.get("requested_at")
    subscribe(
        mailing_list,
        request.email,
        name=request.display_name,
        origin=Origin(
            via=request.data.get("via", origin.via),
            ip=request.data.get("ip") or origin.ip,
            ref=request.data.get("ref", ""),
            actor=origin.actor or request.email,
        ),
        delivery_mode=request.data.get("delivery_mode", Member.DeliveryMode.REGULAR),
        confirmed_at=confirmed_at,
        requested_at=datetime.fromisoformat(requested) if requested else None,
        attributes=request.data.get("attributes"),
    )
    return Outcome.SUBSCRIBED


def _send_confirmation(mailing_list: MailingList, email: str, name: str, kind: str, data: dict) -> PendingRequest:
    token = tokens.new_token()
    request = PendingRequest.objects.create(
        mailing_list=mailing_list,
        kind=kind,
        email=email,
        display_name=name,
        token_digest=tokens.token_digest(token),
        data=data,
        expires_at=timezone.now() + CONFIRM_LIFETIME,
    )
    confirm_address = f"{mailing_list.local_part}-confirm+{token}@{mailing_list.domain.name}"
    send_list_notice(
        f"confirm_{kind}",
        mailing_list,
        email,
        {
            "token": token,
            "confirm_url": confirm_url(token),
            "confirm_address": confirm_address,
            "days": CONFIRM_LIFETIME.days,
        },
        reply_to=confirm_address,
    )
    return request


def _queue_approval(mailing_list: MailingList, email: str, name: str, data: dict) -> PendingRequest:
    existing = pending_approvals(mailing_list).filter(email=email).first()
    if existing:
        return existing
    request = PendingRequest.objects.create(
        mailing_list=mailing_list,
        kind=PendingRequest.Kind.APPROVAL,
        email=email,
        display_name=name,
        data=data,
        expires_at=timezone.now() + APPROVAL_LIFETIME,
    )
    MemberEvent.objects.create(
        mailing_list=mailing_list,
        email=email,
        action="approval_requested",
        via=data.get("via", ""),
        ip=data.get("ip"),
    )
    _notify_owners(mailing_list, "owner_approval_request", {"email": email, "name": name, "request": request})
    return request


def _notify_owners(mailing_list: MailingList, notice: str, context: dict) -> None:
    owners = Member.objects.filter(mailing_list=mailing_list, role=Member.Role.OWNER).values_list("email", flat=True)
    for owner in owners:
        send_list_notice(notice, mailing_list, owner, context)


def _close(request: PendingRequest, state: str, *, by: str, reason: str = "") -> None:
    request.state = state
    request.decided_at = timezone.now()
    request.decided_by = by[:254]
    request.reason = reason[:500]
    request.save(update_fields=["state", "decided_at", "decided_by", "reason"])


def _request_data(origin: Origin, **extra) -> dict:
    return {
        "via": origin.via,
        "ip": origin.ip,
        "ref": origin.ref[:255],
        "requested_at": timezone.now().isoformat(),
        **extra,
    }


def _clean_name(name: str) -> str:
    """Display names end up in headers: no line breaks or control characters, bounded length."""
    return " ".join("".join(ch for ch in (name or "") if ch.isprintable()).split())[:200]
