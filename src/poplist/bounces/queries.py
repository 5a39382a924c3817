"""Reading the bounce records: per list and member for owners, rates per tenant and sending domain for admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from poplist.bounces.models import BounceEvent, BounceScore, BounceStep
from poplist.lists.models import MailingList, Member

KINDS = ["hard", "soft", "policy", "warning", "complaint"]


def list_summary(mailing_list: MailingList, start: datetime, end: datetime) -> dict:
    """Counts by class, members disabled and removed, and providers that refused the list's mail."""
    events = BounceEvent.objects.filter(mailing_list=mailing_list, created_at__gt=start, created_at__lte=end)
    counts = dict.fromkeys([*KINDS, "unattributed"], 0)
    for kind, n in events.values_list("kind").annotate(n=Count("id")):
        if kind in counts:
            counts[kind] = n
    counts["unattributed"] = events.filter(member__isnull=True).exclude(kind="complaint").count()
    steps = BounceStep.objects.filter(mailing_list=mailing_list, created_at__gt=start, created_at__lte=end)
    policy_domains = (
        events.filter(kind="policy")
        .exclude(email="")
        .values_list("email", flat=True)
        .order_by()[:10_000]  # a report, not an audit: enough to rank the providers
    )
    by_domain: dict[str, int] = {}
    for email in policy_domains:
        domain = email.rpartition("@")[2].lower()
        by_domain[domain] = by_domain.get(domain, 0) + 1
    return {
        "events": sum(counts[k] for k in KINDS) + counts["unattributed"],
        "counts": counts,
        "disabled": sorted(set(steps.filter(action="disabled").values_list("email", flat=True)))[:200],
        "removed": sorted(set(steps.filter(action="removed").values_list("email", flat=True)))[:200],
        "policy_domains": [
            {"domain": d, "count": n} for d, n in sorted(by_domain.items(), key=lambda x: (-x[1], x[0]))[:10]
        ],
    }


@dataclass
class MemberStanding:
    email: str
    score: float
    state: str  # ok, disabled, or "" for a member with no bounce record
    status: str  # the member's delivery status
    warnings_sent: int
    last_bounce_at: datetime | None
    next_warning_at: datetime | None


def standings(mailing_list: MailingList, limit: int = 500) -> list[MemberStanding]:
    """Members with a bounce record, the worst first."""
    rows = (
        BounceScore.objects.filter(mailing_list=mailing_list)
        .select_related("member")
        .order_by("-state", "-score", "member__email")[:limit]
    )
    return [
        MemberStanding(
            email=s.member.email,
            score=s.score,
            state=s.state,
            status=s.member.status,
            warnings_sent=s.warnings_sent,
            last_bounce_at=s.last_bounce_at,
            next_warning_at=s.next_warning_at,
        )
        for s in rows
    ]


def recent_events(mailing_list: MailingList, email: str | None = None, limit: int = 200):
    events = BounceEvent.objects.filter(mailing_list=mailing_list).defer("raw")
    if email is not None:
        events = events.filter(email=email)
    return events.order_by("-created_at", "-id")[:limit]


def recent_steps(mailing_list: MailingList, email: str | None = None, limit: int = 200):
    steps = BounceStep.objects.filter(mailing_list=mailing_list).select_related("event")
    if email is not None:
        steps = steps.filter(email=email)
    return steps.order_by("-created_at", "-id")[:limit]


def event_dict(event: BounceEvent) -> dict:
    return {
        "id": event.pk,
        "at": event.created_at.isoformat(),
        "email": event.email,
        "kind": event.kind,
        "source": event.source,
        "status": event.status,
        "diagnostic": event.diagnostic,
        "outcome": event.outcome,
        "reason": event.reason,
        "inbound_message_id": event.inbound_message_id,
        "job_id": event.job_id,
    }


def step_dict(step: BounceStep) -> dict:
    return {
        "at": step.created_at.isoformat(),
        "email": step.email,
        "action": step.action,
        "score": step.score,
        "event_id": step.event_id,
        "detail": step.detail,
    }


def member_history(email: str, tenant=None) -> dict:
    """Everything recorded about one address, on every list (of one tenant when given)."""
    lists = MailingList.objects.all() if tenant is None else MailingList.objects.filter(tenant=tenant)
    out = []
    for mailing_list in lists.filter(Q(bounce_events__email=email) | Q(bounce_steps__email=email)).distinct():
        score = BounceScore.objects.filter(mailing_list=mailing_list, member__email=email).first()
        member = Member.objects.filter(mailing_list=mailing_list, email=email, role=Member.Role.MEMBER).first()
        out.append(
            {
                "list": mailing_list.address,
                "member": member.status if member else "not a member",
                "score": score.score if score else 0,
                "state": score.state if score else "",
                "warnings_sent": score.warnings_sent if score else 0,
                "events": [event_dict(e) for e in recent_events(mailing_list, email)],
                "steps": [step_dict(s) for s in recent_steps(mailing_list, email)],
            }
        )
    return {"email": email, "lists": out}


# --- Host rates ----------------------------------------------------------------------------------


@dataclass
class Rate:
    key: str  # tenant slug or sending domain
    deliveries: int
    hard: int
    soft: int
    policy: int
    complaints: int

    @property
    def bounce_rate(self) -> float:
        return (self.hard + self.soft) / self.deliveries if self.deliveries else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.deliveries if self.deliveries else 0.0

    @property
    def bounce_percent(self) -> float:
        return 100 * self.bounce_rate

    @property
    def complaint_percent(self) -> float:
        return 100 * self.complaint_rate

    @property
    def policy_rate(self) -> float:
        return self.policy / self.deliveries if self.deliveries else 0.0

    def as_dict(self) -> dict:
        return {
            "key": self.key,
            "deliveries": self.deliveries,
            "hard": self.hard,
            "soft": self.soft,
            "policy": self.policy,
            "complaints": self.complaints,
            "bounce_rate": round(self.bounce_rate, 6),
            "complaint_rate": round(self.complaint_rate, 6),
            "policy_rate": round(self.policy_rate, 6),
        }


def rates(by: str = "tenant", days: int = 30, now: datetime | None = None, tenant=None) -> list[Rate]:
    """Bounce and complaint rates over the last `days`, per tenant (`by="tenant"`) or per sending domain;
    of one tenant's lists only when `tenant` is given.

    Each address counts once per class in the period. Failures about addresses that were not
    members are left out (backscatter, forged reports). The denominator is
    `deliveries()`: see its formula.
    """
    now = now or timezone.now()
    since = now - timedelta(days=days)
    group = "tenant__slug" if by == "tenant" else "sending_domain"
    # A failure about an address we never mailed (backscatter, a forged report) is not the sender's record.
    events = BounceEvent.objects.filter(created_at__gt=since, kind__in=["hard", "soft", "policy", "complaint"]).filter(
        Q(kind="complaint") | ~Q(outcome__in=["not_a_member", "discarded"])
    )
    if tenant is not None:
        events = events.filter(tenant=tenant)
    counted = events.values(group, "kind").annotate(n=Count("email", distinct=True)).order_by()
    table: dict[str, dict[str, int]] = {}
    for row in counted:
        table.setdefault(row[group], {})[row["kind"]] = row["n"]
    sent = deliveries(by, since, now, tenant)
    keys = sorted(set(table) | set(sent))
    return [
        Rate(
            key=key,
            deliveries=sent.get(key, 0),
            hard=table.get(key, {}).get("hard", 0),
            soft=table.get(key, {}).get("soft", 0),
            policy=table.get(key, {}).get("policy", 0),
            complaints=table.get(key, {}).get("complaint", 0),
        )
        for key in keys
    ]


def deliveries(by: str, since: datetime, until: datetime, tenant=None) -> dict[str, int]:
    """Copies sent per tenant or sending domain in the period (of one tenant's lists when given).

    Posts and digests: delivery's per-list daily counter (`DeliveryDay.sent`, copies the relay
    accepted) for the days of the period; notices: every recipient of those sent in the period.
    """
    from poplist.delivery.models import DeliveryDay, OutboundMessage

    group_day = "mailing_list__tenant__slug" if by == "tenant" else "mailing_list__domain__name"
    days = DeliveryDay.objects.filter(day__gte=since.date(), day__lte=until.date())
    notices = OutboundMessage.objects.filter(status="sent", sent_at__gt=since, sent_at__lte=until)
    if tenant is not None:
        days, notices = days.filter(mailing_list__tenant=tenant), notices.filter(tenant=tenant)
    days = days.values(group_day).annotate(n=Sum("sent")).order_by()
    out: dict[str, int] = {}
    for row in days:
        if row[group_day]:
            out[row[group_day]] = out.get(row[group_day], 0) + (row["n"] or 0)
    group_notice = "tenant__slug" if by == "tenant" else "mailing_list__domain__name"
    for key, recipients in notices.values_list(group_notice, "recipients").iterator(chunk_size=5000):
        if key:
            out[key] = out.get(key, 0) + len(recipients or [])
    return out


def bounces_per_day(lists, since) -> dict:
    """Hard and soft bounces per day over several lists (the owners' dashboard series)."""
    from django.db.models.functions import TruncDate

    rows = (
        BounceEvent.objects.filter(
            mailing_list__in=lists,
            created_at__date__gte=since,
            kind__in=[BounceEvent.Kind.HARD, BounceEvent.Kind.SOFT],
        )
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
    )
    return {row["day"]: row["n"] for row in rows}
