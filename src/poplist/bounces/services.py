"""Entry points of the bounce processor, called by inbound and by delivery, and the scoring rules.

A bounce is identified by, in order: the VERP token of the envelope recipient (an HMAC: a
forged bounce names nobody), a VERP or unsubscribe token quoted in the returned message,
then the addresses the report names (RFC 3464 DSN, then heuristics) that are members of
the list. Each failure becomes one BounceEvent; hard (+1) and soft (+0.5) failures raise
the member's score at most once a day; past the list's threshold the member's delivery is
disabled by bounces, they get warnings with a re-enable link, and after the last warning
they are removed and the owners told. Complaints (ARF) unsubscribe at once.
Batches (`receive_bounces`) parse each message once and use a fixed number of queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from poplist.bounces import parse as parsing
from poplist.bounces.models import BounceEvent, BounceReport, BounceScore, BounceStep
from poplist.bounces.verp import member_id_from_token, verp_address
from poplist.core import addresses, rows, tokens
from poplist.core.errors import InvalidInput
from poplist.delivery.notices import compose, render, send_list_notice
from poplist.delivery.services import queue_message
from poplist.lists import services as list_services
from poplist.lists.members import set_member_enabled
from poplist.lists.models import MailingList, Member, Suppression
from poplist.lists.subscriptions import UNSUBSCRIBE_PURPOSE, Origin, unsubscribe

REENABLE_PURPOSE = "bounce-reenable"
ACTOR = "bounces"
INCREMENT = {BounceEvent.Kind.HARD: 1.0, BounceEvent.Kind.SOFT: 0.5}
REPORT_EVERY = timedelta(days=7)
RAW_KEPT = 256 * 1024  # of an unattributed message, for `bounces reprocess`


@dataclass(frozen=True)
class Incoming:
    raw: bytes
    verp_token: str | None = None
    inbound_message_id: int | None = None


# --- Entry points ----------------------------------------------------------------------------------


def receive_bounce(
    mailing_list: MailingList, raw: bytes, *, verp_token: str | None, envelope_from: str, inbound_message_id: int
) -> None:
    """A message arrived at `list-bounces[+TOKEN]@`; it is already stored by inbound (inbound_message_id)."""
    receive_bounces(mailing_list, [Incoming(raw, verp_token, inbound_message_id)])


def record_delivery_failure(
    mailing_list: MailingList, member_id: int, email: str, code: int, text: str, *, job_id: int | None = None
) -> None:
    """The relay refused a copy for good (5xx at RCPT or DATA, or a 4xx past its retry age)."""
    kind, status = parsing.classify_smtp(code, text)
    diagnostic = f"{code} {' '.join(text.split())}".strip()[:500]
    with transaction.atomic(savepoint=False):
        found = _fetch_members(mailing_list, {member_id}, set())
        member = found.by_id.get(member_id)
        event = _event(
            mailing_list,
            member,
            email,
            kind,
            BounceEvent.Source.SMTP,
            status=status,
            diagnostic=diagnostic,
            job_id=job_id,
        )
        if member is None:
            event.outcome, event.reason = BounceEvent.Outcome.NOT_A_MEMBER, "no longer a member"
        _record(mailing_list, [(event, member)], found.scores)


def receive_bounces(mailing_list: MailingList, items: list[Incoming]) -> list[BounceEvent]:
    """Record and act on many messages to one list's bounce address: one parse each, bulk queries.

    Measured (bench/bounces.py, SQLite, per CPU-second, every corpus format in turn, load ~9):
    batches of 500 2,261/s (1,210 with the ORM's statements), one by one in inbound's group
    commit 1,158/s (441 before); docs/bounces.md has the table.
    """
    named = [member_id_from_token(item.verp_token) if item.verp_token else None for item in items]
    parsed = [
        parsing.parse(item.raw, named=member_id is not None) for item, member_id in zip(items, named, strict=True)
    ]
    # No savepoint of our own inside a caller's transaction (inbound's group commit): an error here
    # rolls back to the caller's, which keeps the message and the bounce together.
    with transaction.atomic(savepoint=False):
        events, scores = _attribute(mailing_list, items, parsed, named)
        _record(mailing_list, events, scores)
    return [event for event, _ in events]


# --- Attribution -----------------------------------------------------------------------------------


def _attribute(
    mailing_list: MailingList, items: list[Incoming], parsed: list[parsing.Parsed], named: list[int | None]
) -> tuple[list[tuple[BounceEvent, Member | None]], dict[int, BounceScore | None]]:
    """One event per failure (or per unusable message), each with the member it names, if any."""
    token_ids: list[int | None] = []
    wanted_ids: set[int] = set()
    wanted_emails: set[str] = set()
    for item, result, member_id in zip(items, parsed, named, strict=True):
        if (
            member_id is None and not item.verp_token
        ):  # the returned original may still carry its VERP or unsubscribe token
            member_id = _quoted_member_id(result)
        token_ids.append(member_id)
        if member_id is not None:
            wanted_ids.add(member_id)
        if member_id is None:
            for failure in result.failures:
                wanted_emails.add(_normal(failure.email))
    wanted_emails.discard("")
    found = _fetch_members(mailing_list, wanted_ids, wanted_emails)
    events: list[tuple[BounceEvent, Member | None]] = []
    for item, result, member_id in zip(items, parsed, token_ids, strict=True):
        events.extend(_events_of(mailing_list, item, result, member_id, found))
    return events, found.scores


@dataclass
class _Found:
    by_id: dict[int, Member]
    by_email: dict[str, Member]  # exact, else the one member whose address differs only in case
    ambiguous: set[str]  # addresses that several members match but for case
    scores: dict[int, BounceScore | None]  # each found member's score row, None when it has none yet


_MEMBER_FIELDS = ("id", "mailing_list", "email", "role", "status", "disabled_reason")
_SCORE_ROW = tuple(f.name for f in BounceScore._meta.concrete_fields)
_IN_CHUNK = 2000  # values per IN (...): far below SQLite's 32,766 and PostgreSQL's 65,535 parameters


def _fetch_members(mailing_list: MailingList, ids: set[int], emails: set[str]) -> _Found:
    """The list's members named by id or address, each with their score, in one query (three when an
    address matches nobody exactly: then its case-insensitive match, by its lower-case form and through
    the lists' partial index on (mailing_list, LOWER(email)) of addresses stored with capitals).
    Hand-written SQL: see `rows`; ~0.5 ms of CPU a bounce saved.
    """
    found = _Found({}, {}, set(), {})
    for chunk in _chunks(sorted(ids)):
        _select_members(mailing_list, found, f"m.{rows.quote('id')} IN ({_marks(chunk)})", chunk)
    for chunk in _chunks(sorted(emails)):
        _select_members(mailing_list, found, f"m.{rows.quote('email')} IN ({_marks(chunk)})", chunk)
    by_email = {m.email: m for m in found.by_id.values()}
    # RFC 5321 lets a local part be case-sensitive and Poplist stores it as written, but providers treat
    # John.Doe@ and john.doe@ as one mailbox, and some report the address in another case than it was sent.
    unmatched = sorted(e for e in emails if e not in by_email)  # two of them may differ only in case
    if unmatched:
        candidates = _Found({}, {}, set(), {})
        email = f"m.{rows.quote('email')}"
        for chunk in _chunks(sorted({e.lower() for e in unmatched})):
            # Members stored in lower case: by that form, through the unique index.
            _select_members(mailing_list, candidates, f"{email} IN ({_marks(chunk)})", chunk)
            # The others: the partial index that holds only them (its condition, written as Django writes it).
            clause = f"NOT ({email} = LOWER({email})) AND LOWER({email}) IN ({_marks(chunk)})"
            _select_members(mailing_list, candidates, clause, chunk)
        by_lower: dict[str, list[Member]] = {}
        for member in candidates.by_id.values():
            by_lower.setdefault(member.email.lower(), []).append(member)
        for original in unmatched:
            matches = by_lower.get(original.lower(), [])
            if len(matches) == 1:
                by_email[original] = matches[0]
                found.scores[matches[0].pk] = candidates.scores[matches[0].pk]
            elif matches:
                found.ambiguous.add(original)  # two members differ only in case: naming either could be wrong
    found.by_email = by_email
    return found


def _select_members(mailing_list: MailingList, found: _Found, clause: str, params: list) -> None:
    width = len(_MEMBER_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(_members_sql(connection.vendor) + clause, [mailing_list.pk, Member.Role.MEMBER, *params])
        for row in cursor.fetchall():
            member = rows.build(Member, _MEMBER_FIELDS, "m", row[:width])
            member.mailing_list = mailing_list
            score = rows.build(BounceScore, _SCORE_ROW, "s", row[width:]) if row[width] is not None else None
            if score is not None:
                score.member, score.mailing_list = member, mailing_list
            found.by_id[member.pk] = member
            found.scores[member.pk] = score


@cache
def _members_sql(vendor: str) -> str:
    q = rows.quote
    return (
        f"SELECT {rows.select_list(Member, _MEMBER_FIELDS, 'm')}, {rows.select_list(BounceScore, _SCORE_ROW, 's')}"
        f" FROM {q(Member._meta.db_table)} m LEFT JOIN {q(BounceScore._meta.db_table)} s"
        f" ON s.{q('member_id')} = m.{q('id')} WHERE m.{q('mailing_list_id')} = %s AND m.{q('role')} = %s AND "
    )


def _chunks(values: list) -> list[list]:
    return [values[i : i + _IN_CHUNK] for i in range(0, len(values), _IN_CHUNK)]


def _marks(values: list) -> str:
    return ", ".join(["%s"] * len(values))


def _events_of(mailing_list, item, result, member_id, found: _Found):
    source_of = {
        "dsn": BounceEvent.Source.DSN,
        "arf": BounceEvent.Source.ARF,
        "heuristic": BounceEvent.Source.HEURISTIC,
    }
    source = source_of.get(result.source, BounceEvent.Source.NONE)
    common = {"inbound_message_id": item.inbound_message_id}
    forged = bool(item.verp_token) and member_id is None
    if forged or result.category in (parsing.AUTO_REPLY, parsing.LOOP, parsing.UNRECOGNISED):
        kind = {parsing.AUTO_REPLY: "auto_reply", parsing.LOOP: "loop"}.get(result.category, "unrecognised")
        event = _event(mailing_list, None, "", kind, source, **common)
        # A token that fails its HMAC is tampering: nothing in the message is trusted to name anyone.
        reason = "forged or mangled VERP token" if forged else result.reason
        event.outcome, event.reason = BounceEvent.Outcome.DISCARDED, reason[:200]
        if kind == "unrecognised" and not forged:
            event.raw = item.raw[:RAW_KEPT]
        return [(event, None)]
    if member_id is not None:
        # VERP named the member: the report only says how badly (its worst failure).
        member = found.by_id.get(member_id)
        worst = result.worst
        kind = parsing.COMPLAINT if result.category == parsing.COMPLAINT else (worst.kind if worst else "hard")
        email = member.email if member else (worst.email if worst else "")
        event = _event(
            mailing_list,
            member,
            email,
            kind,
            BounceEvent.Source.VERP,
            status=worst.status if worst else "",
            diagnostic=worst.diagnostic if worst else "",
            **common,
        )
        if member is None:
            event.outcome, event.reason = BounceEvent.Outcome.NOT_A_MEMBER, "the member has left"
        return [(event, member)]
    out = []
    for failure in result.failures:
        address = _normal(failure.email)
        member = found.by_email.get(address)
        event = _event(
            mailing_list,
            member,
            failure.email,
            failure.kind,
            source,
            status=failure.status,
            diagnostic=failure.diagnostic,
            **common,
        )
        if member is None and address in found.ambiguous:
            event.outcome = BounceEvent.Outcome.NOT_A_MEMBER
            event.reason = "several members have this address but for case; none is assumed"
        elif member is None:
            event.outcome, event.reason = BounceEvent.Outcome.NOT_A_MEMBER, "the address is not a member of the list"
        out.append((event, member))
    if out and all(member is None for _, member in out):
        out[0][0].raw = item.raw[:RAW_KEPT]  # nobody matched: kept for `bounces reprocess`
    return out


def _quoted_member_id(result: parsing.Parsed) -> int | None:
    for token in result.tokens:
        member_id = member_id_from_token(token)
        if member_id is not None:
            return member_id
    if result.category == parsing.COMPLAINT:
        for token in result.unsubscribe_tokens:
            member_id = tokens.unsign_id(UNSUBSCRIBE_PURPOSE, token)
            if member_id is not None:
                return member_id
    return None


def _normal(email: str) -> str:
    try:
        return addresses.normalize(email)
    except InvalidInput:
        return ""


def _event(mailing_list, member, email, kind, source, **fields) -> BounceEvent:
    scoring = kind in INCREMENT
    return BounceEvent(
        tenant_id=mailing_list.tenant_id,
        mailing_list=mailing_list,
        member=member,
        email=(email or "")[:254],
        kind=kind,
        source=source,
        sending_domain=mailing_list.address.rpartition("@")[2],  # the domain's name, without a query
        outcome=BounceEvent.Outcome.SCORED if scoring else BounceEvent.Outcome.NOT_SCORED,
        reason="" if scoring else _NOT_SCORED.get(kind, ""),
        **fields,
    )


_NOT_SCORED = {
    "policy": "the provider refused the message, not the address",
    "warning": "delayed, still being retried",
    "complaint": "",
}


# --- Acting --------------------------------------------------------------------------------------


def _record(
    mailing_list: MailingList,
    events: list[tuple[BounceEvent, Member | None]],
    scores: dict[int, BounceScore | None],
) -> None:
    """Decide every outcome in memory, then write: events, scores and steps in bulk, then the rare steps.

    One INSERT of the events, one INSERT of new scores, one prepared UPDATE of changed ones, one
    INSERT of the steps, through `rows` (hand-written SQL, see there for the measured costs).
    """
    now = timezone.now()
    scored = [(m, e) for e, m in events if m is not None and e.kind in INCREMENT]
    new, changed, steps, to_disable = _plan_scores(mailing_list, scored, scores, now) if scored else ({}, {}, [], [])
    complaints = [(e, m) for e, m in events if e.kind == BounceEvent.Kind.COMPLAINT]
    for event, member in complaints:
        if member is not None:
            event.outcome = BounceEvent.Outcome.UNSUBSCRIBED
        elif event.email:
            event.outcome, event.reason = BounceEvent.Outcome.NOT_A_MEMBER, "suppressed; the address was not a member"
    rows.insert(BounceEvent, [event for event, _ in events])
    for score in [*new.values(), *changed.values()]:
        score.last_event_id = score.last_event.pk if score.last_event is not None else None
    rows.insert(BounceScore, list(new.values()))
    rows.update(BounceScore, changed.values(), _SCORE_FIELDS)
    for step in steps:
        step.event_id = step.event.pk if step.event is not None else None
    rows.insert(BounceStep, steps)
    for member, score, event in to_disable:
        _disable(mailing_list, member, score, event, now)
    for event, member in complaints:
        _complaint(mailing_list, event, member)


_SCORE_FIELDS = ("score", "last_bounce_at", "last_increment_on", "last_event")


def _complaint(mailing_list: MailingList, event: BounceEvent, member: Member | None) -> None:
    """A recipient told their provider it is spam: stop mailing them at once, and never re-add them."""
    email = member.email if member else _normal(event.email)
    if not email:
        return
    unsubscribe(mailing_list, email, origin=Origin(via="email", actor="feedback-loop"), goodbye=False)
    list_services.suppress(mailing_list, email, Suppression.Reason.COMPLAINT, note="feedback loop (ARF)")
    BounceStep.objects.create(
        mailing_list=mailing_list, email=email, action=BounceStep.Action.COMPLAINT_UNSUBSCRIBED, event=event
    )


def _plan_scores(
    mailing_list: MailingList,
    pairs: list[tuple[Member, BounceEvent]],
    scores: dict[int, BounceScore | None],
    now: datetime,
):
    """Raise scores (once a day each), decay stale ones, pick members past the threshold; nothing written yet."""
    today = timezone.localdate(now)
    decay = timedelta(days=mailing_list.bounce_decay_days)
    new: dict[int, BounceScore] = {}
    changed: dict[int, BounceScore] = {}
    steps: list[BounceStep] = []
    to_disable = []
    for member, event in pairs:
        score = new.get(member.pk) or changed.get(member.pk) or scores.get(member.pk)
        if score is None:
            score = new[member.pk] = BounceScore(member=member, mailing_list=mailing_list)
        elif member.pk not in new:
            changed[member.pk] = score
        if (
            score.state == BounceScore.State.OK
            and score.score
            and score.last_bounce_at
            and (now - score.last_bounce_at > decay)
        ):
            steps.append(_step(mailing_list, member.email, BounceStep.Action.DECAYED, 0, None, f"was {score.score:g}"))
            score.score = 0
        score.last_bounce_at = now
        score.last_event = event
        if score.last_increment_on == today:
            event.outcome, event.reason = BounceEvent.Outcome.NOT_SCORED, "already counted today"
            continue
        score.score += INCREMENT[event.kind]
        score.last_increment_on = today
        steps.append(_step(mailing_list, member.email, BounceStep.Action.SCORED, score.score, event))
        if (
            score.state == BounceScore.State.OK
            and score.score >= mailing_list.bounce_score_threshold
            and member.status == Member.Status.ENABLED
        ):
            to_disable.append((member, score, event))
    return new, changed, steps, to_disable


def _step(mailing_list, email, action, score, event, detail="") -> BounceStep:
    return BounceStep(mailing_list=mailing_list, email=email, action=action, score=score, event=event, detail=detail)


def _disable(mailing_list: MailingList, member: Member, score: BounceScore, event: BounceEvent, now: datetime):
    set_member_enabled(member, False, reason=Member.DisabledReason.BY_BOUNCES, actor=ACTOR)
    score.state = BounceScore.State.DISABLED
    score.warnings_sent = 1
    score.next_warning_at = now + timedelta(days=mailing_list.bounce_warning_interval_days)
    score.save(update_fields=["state", "warnings_sent", "next_warning_at"])
    BounceStep.objects.create(
        mailing_list=mailing_list, email=member.email, action=BounceStep.Action.DISABLED, score=score.score, event=event
    )
    _send_member_notice(mailing_list, member, score, event)


def _send_member_notice(mailing_list: MailingList, member: Member, score: BounceScore, event: BounceEvent | None):
    """The disabled notice and its warnings, sent with VERP so that their own bounces are attributed."""
    context = {
        "list": mailing_list,
        "email": member.email,
        "reenable_url": reenable_url(member),
        "warning": score.warnings_sent,
        "warnings": mailing_list.bounce_warnings,
        "remaining": max(mailing_list.bounce_warnings - score.warnings_sent, 0),
        "status": event.status if event else "",
        "diagnostic": event.diagnostic if event else "",
    }
    subject, body = render("bounce_disabled", mailing_list.language, context)
    raw = compose(
        subject=subject,
        body=body,
        from_addr=mailing_list.role_address("owner"),
        from_name=mailing_list.display_name,
        to=member.email,
        domain=mailing_list.domain.name,
    )
    queue_message(
        mail_from=verp_address(mailing_list, member.pk),
        recipients=[member.email],
        raw=raw,
        kind="bounce_disabled",
        tenant=mailing_list.tenant,
        mailing_list=mailing_list,
    )


# --- Re-enabling, warnings, removal, decay -------------------------------------------------------


def reenable_token(member: Member) -> str:
    return tokens.sign_id(REENABLE_PURPOSE, member.pk)


def reenable_url(member: Member) -> str:
    return f"{settings.BASE_URL}/bounces/reenable/{reenable_token(member)}/"


def member_for_reenable_token(token: str) -> Member | None:
    member_id = tokens.unsign_id(REENABLE_PURPOSE, token)
    if member_id is None:
        return None
    return Member.objects.select_related("mailing_list").filter(pk=member_id, role=Member.Role.MEMBER).first()


def reenable(member: Member, *, actor: str) -> bool:
    """The member (from the notice's link) or an owner turns delivery back on; the score starts afresh."""
    with transaction.atomic():
        if member.status == Member.Status.DISABLED and member.disabled_reason == Member.DisabledReason.BY_BOUNCES:
            set_member_enabled(member, True, reason=Member.DisabledReason.BY_BOUNCES, actor=actor)
            changed = True
        else:
            changed = False
        BounceScore.objects.filter(member=member).update(
            score=0, state=BounceScore.State.OK, warnings_sent=0, next_warning_at=None, last_increment_on=None
        )
        if changed:
            BounceStep.objects.create(
                mailing_list=member.mailing_list, email=member.email, action=BounceStep.Action.REENABLED, detail=actor
            )
    return changed


def run_due_steps(now: datetime | None = None, limit: int = 500) -> int:
    """Send the next warning to members disabled by bounces, or remove them after the last one."""
    now = now or timezone.now()
    due = BounceScore.objects.filter(state=BounceScore.State.DISABLED, next_warning_at__lte=now)
    done = 0
    for score in due.select_related("member", "mailing_list", "mailing_list__domain", "last_event")[:limit]:
        with transaction.atomic():
            _advance(score, now)
        done += 1
    return done


def _advance(score: BounceScore, now: datetime) -> None:
    member, mailing_list = score.member, score.mailing_list
    if member.status != Member.Status.DISABLED or member.disabled_reason != Member.DisabledReason.BY_BOUNCES:
        # Someone re-enabled them another way: the bounce path is over.
        score.state, score.score, score.next_warning_at, score.warnings_sent = BounceScore.State.OK, 0, None, 0
        score.save(update_fields=["state", "score", "next_warning_at", "warnings_sent"])
        return
    if score.warnings_sent < mailing_list.bounce_warnings:
        score.warnings_sent += 1
        score.next_warning_at = now + timedelta(days=mailing_list.bounce_warning_interval_days)
        score.save(update_fields=["warnings_sent", "next_warning_at"])
        BounceStep.objects.create(
            mailing_list=mailing_list,
            email=member.email,
            action=BounceStep.Action.WARNED,
            score=score.score,
            event=score.last_event,
            detail=f"{score.warnings_sent}/{mailing_list.bounce_warnings}",
        )
        _send_member_notice(mailing_list, member, score, score.last_event)
        return
    email, last_event = member.email, score.last_event
    unsubscribe(mailing_list, email, origin=Origin(via="owner", actor=ACTOR), by_owner=True, goodbye=False)
    list_services.suppress(mailing_list, email, Suppression.Reason.BOUNCED, note="removed by bounces")
    BounceStep.objects.create(
        mailing_list=mailing_list, email=email, action=BounceStep.Action.REMOVED, score=score.score, event=last_event
    )
    context = {
        "email": email,
        "score": score.score,
        "warnings": mailing_list.bounce_warnings,
        "status": last_event.status if last_event else "",
        "diagnostic": last_event.diagnostic if last_event else "",
        "bounces_url": f"{settings.BASE_URL}/console/lists/{mailing_list.address}/bounces/",
    }
    for owner in _owners(mailing_list):
        send_list_notice("bounce_removed", mailing_list, owner, context)


def decay_scores(now: datetime | None = None) -> int:
    """Scores of members with no bounce for the list's decay period go back to zero."""
    now = now or timezone.now()
    stale = BounceScore.objects.filter(state=BounceScore.State.OK, score__gt=0).select_related("mailing_list")
    reset, steps = [], []
    for score in stale.iterator(chunk_size=2000):
        if score.last_bounce_at and now - score.last_bounce_at > timedelta(days=score.mailing_list.bounce_decay_days):
            steps.append(_step(score.mailing_list, "", BounceStep.Action.DECAYED, 0, None, f"was {score.score:g}"))
            reset.append(score.pk)
    if reset:
        emails = dict(BounceScore.objects.filter(pk__in=reset).values_list("pk", "member__email"))
        for pk, step in zip(reset, steps, strict=True):
            step.email = emails.get(pk, "")
        with transaction.atomic():
            BounceScore.objects.filter(pk__in=reset).update(score=0)
            BounceStep.objects.bulk_create(steps)
    return len(reset)


def _owners(mailing_list: MailingList) -> list[str]:
    return list(
        Member.objects.filter(mailing_list=mailing_list, role=Member.Role.OWNER).values_list("email", flat=True)
    )


# --- Owner reports -------------------------------------------------------------------------------


def send_due_reports(now: datetime | None = None) -> int:
    """Each list with bounce activity since its last report (at most weekly) sends its owners a summary."""
    from poplist.bounces.queries import list_summary

    now = now or timezone.now()
    sent = 0
    active = BounceEvent.objects.filter(created_at__gt=now - REPORT_EVERY).values_list("mailing_list_id", flat=True)
    for mailing_list in MailingList.objects.filter(pk__in=set(active)).select_related("domain", "tenant"):
        last = BounceReport.objects.filter(mailing_list=mailing_list).order_by("-sent_at").first()
        if last is not None and now - last.sent_at < REPORT_EVERY:
            continue
        start = last.period_end if last else now - REPORT_EVERY
        summary = list_summary(mailing_list, start, now)
        if not summary["events"]:
            continue
        with transaction.atomic():
            BounceReport.objects.create(
                mailing_list=mailing_list, period_start=start, period_end=now, summary=summary, sent_at=now
            )
            context = {
                **summary,
                "start": start.date().isoformat(),
                "end": now.date().isoformat(),
                "bounces_url": f"{settings.BASE_URL}/console/lists/{mailing_list.address}/bounces/",
            }
            for owner in _owners(mailing_list):
                send_list_notice("bounce_report", mailing_list, owner, context)
        sent += 1
    return sent


# --- Reprocessing --------------------------------------------------------------------------------


def reprocess(mailing_list: MailingList | None = None) -> tuple[int, int]:
    """Parse again the kept messages nobody was attributed from (after a parser upgrade or a late member).

    Returns (messages retried, events now attributed to a member).
    """
    kept = BounceEvent.objects.filter(raw__isnull=False, member__isnull=True)
    if mailing_list is not None:
        kept = kept.filter(mailing_list=mailing_list)
    retried = attributed = 0
    for old in kept.select_related("mailing_list", "mailing_list__domain").iterator(chunk_size=200):
        raw = bytes(old.raw)
        with transaction.atomic():
            events = receive_bounces(old.mailing_list, [Incoming(raw, None, old.inbound_message_id)])
            attributed += sum(1 for e in events if e.member_id)
            if any(e.member_id for e in events):
                old.raw = None
                old.reason = "reprocessed"
                old.save(update_fields=["raw", "reason"])
            else:  # still nobody: the old record stays as it was
                BounceEvent.objects.filter(pk__in=[e.pk for e in events]).delete()
        retried += 1
    return retried, attributed
