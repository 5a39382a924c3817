"""Email commands (to -request@, -join@, -leave@, -confirm+TOKEN@), answered in the list's language.

They call the same services as the web pages; the answer quotes each command processed.
"""

from __future__ import annotations

from email.message import EmailMessage

from django.utils import translation
from django.utils.translation import gettext as _

from poplist.core.errors import PoplistError
from poplist.core.mime import header_text, part_text
from poplist.delivery.notices import send_list_notice
from poplist.delivery.services import queue_message
from poplist.inbound.models import InboundMessage
from poplist.lists import members as roster
from poplist.lists import subscriptions
from poplist.lists.models import MailingList, Member
from poplist.lists.subscriptions import Origin, Outcome

MAX_LINES = 20  # non-empty, unquoted lines read; the rest of a long mail is not commands
MAX_UNKNOWN = 3  # stop at the third line that is not a command (a signature, a quoted reply)
WHO_LIMIT = 1000
DELIVERY = {
    "regular": Member.DeliveryMode.REGULAR,
    "digest": Member.DeliveryMode.MIME_DIGEST,
    "nomail": Member.DeliveryMode.NOMAIL,
}


def _origin(sender: str, inbound: InboundMessage) -> Origin:
    return Origin(via=Member.Via.EMAIL, ref=inbound.message_id[:255], actor=sender)


def command_lines(message: EmailMessage | None) -> list[str]:
    """The Subject, then the plain-text body's lines, up to `end` or a signature."""
    if message is None:
        return []
    lines = []
    subject = " ".join(header_text(message, "Subject").split())
    if subject:
        lines.append(subject)
    try:
        part = message.get_body(("plain",))
    except Exception:
        part = None
    text = part_text(part)[:20_000] if part is not None else ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in {"--", "-- "}:
            break
        if stripped and not stripped.startswith(">"):
            lines.append(stripped)
        if len(lines) >= MAX_LINES:
            break
    return lines


def run(mailing_list: MailingList, lines: list[str], sender: str, inbound: InboundMessage) -> list[tuple[str, str]]:
    """Each command with its result, in the list's language."""
    results: list[tuple[str, str]] = []
    unknown = 0
    with translation.override(mailing_list.language):
        for index, line in enumerate(lines):
            words = line.split()
            verb = words[0].lower().rstrip(":") if words else ""
            if verb in {"re", "aw", "fwd", "tr"} and len(words) > 1:  # "Re: subscribe" in a Subject
                words = words[1:]
                verb = words[0].lower()
            if verb == "end":
                results.append((line, _("End of commands; the rest was ignored.")))
                break
            handler = COMMANDS.get(verb)
            if handler is None:
                if index == 0:
                    continue  # a Subject that is not a command is simply not one
                unknown += 1
                results.append((line, _("Unknown command.")))
                if unknown >= MAX_UNKNOWN:
                    break
                continue
            try:
                results.append((line, handler(mailing_list, words[1:], sender, inbound)))
            except PoplistError as exc:
                results.append((line, str(exc)))
    return results


def _subscribe(mailing_list, args, sender, inbound) -> str:
    outcome = subscriptions.request_subscription(mailing_list, sender, origin=_origin(sender, inbound))
    return {
        Outcome.ALREADY_MEMBER: _("%(address)s is already a member.") % {"address": sender},
        Outcome.CONFIRMATION_SENT: _("A confirmation request was sent to %(address)s.") % {"address": sender},
        Outcome.AWAITING_APPROVAL: _("Your request awaits the approval of the list owners."),
        Outcome.SUBSCRIBED: _("%(address)s is now a member.") % {"address": sender},
    }.get(outcome, str(outcome.value))


def _unsubscribe(mailing_list, args, sender, inbound) -> str:
    outcome = subscriptions.request_unsubscription(mailing_list, sender, origin=_origin(sender, inbound))
    if outcome == Outcome.NOT_A_MEMBER:
        return _("%(address)s is not a member.") % {"address": sender}
    return _("A confirmation request was sent to %(address)s.") % {"address": sender}


def _confirm(mailing_list, args, sender, inbound) -> str:
    if not args:
        return _("confirm needs the token from the confirmation message.")
    outcome, _request = subscriptions.confirm(args[0], origin=_origin(sender, inbound))
    return _confirmed_text(outcome)


def _confirmed_text(outcome: Outcome) -> str:
    return {
        Outcome.SUBSCRIBED: _("Confirmed: you are now a member."),
        Outcome.UNSUBSCRIBED: _("Confirmed: you have left the list."),
        Outcome.AWAITING_APPROVAL: _("Confirmed; your request now awaits the approval of the list owners."),
        Outcome.ALREADY_MEMBER: _("You are already a member."),
        Outcome.NOT_A_MEMBER: _("You were not a member."),
    }.get(outcome, str(outcome.value))


def _help(mailing_list, args, sender, inbound) -> str:
    return _(
        "Commands: subscribe, unsubscribe, confirm TOKEN, set delivery regular|digest|nomail, who, help, end. "
        "Write one per line, to %(address)s."
    ) % {"address": mailing_list.role_address("request")}


def _set(mailing_list, args, sender, inbound) -> str:
    if len(args) != 2 or args[0].lower() != "delivery" or args[1].lower() not in DELIVERY:
        return _("Usage: set delivery regular|digest|nomail")
    member = roster.get_member(mailing_list, sender)
    roster.set_member_options(member, actor=sender, delivery_mode=DELIVERY[args[1].lower()])
    return _("Delivery set to %(mode)s.") % {"mode": args[1].lower()}


def _who(mailing_list, args, sender, inbound) -> str:
    visibility = mailing_list.roster_visibility
    is_member = Member.objects.filter(mailing_list=mailing_list, email=sender).exists()
    allowed = visibility == MailingList.RosterVisibility.PUBLIC or (
        visibility == MailingList.RosterVisibility.MEMBERS and is_member
    )
    if not allowed:
        return _("This list does not show its members to you.")
    emails = list(
        Member.objects.filter(mailing_list=mailing_list, role=Member.Role.MEMBER)
        .order_by("email")
        .values_list("email", flat=True)[:WHO_LIMIT]
    )
    return _("%(count)s members:") % {"count": mailing_list.member_count} + "\n" + "\n".join(emails)


COMMANDS = {
    "subscribe": _subscribe,
    "join": _subscribe,
    "unsubscribe": _unsubscribe,
    "leave": _unsubscribe,
    "signoff": _unsubscribe,
    "confirm": _confirm,
    "help": _help,
    "set": _set,
    "who": _who,
}


def reply(mailing_list: MailingList, sender: str, results: list[tuple[str, str]]) -> None:
    send_list_notice("command_results", mailing_list, sender, {"results": results})


def handle(
    mailing_list: MailingList, route: str, message: EmailMessage | None, sender: str, inbound: InboundMessage
) -> None:
    """Mail to -request (commands), -join or -leave; the answer goes back to the sender."""
    if route == InboundMessage.Route.JOIN:
        lines = ["subscribe"]
    elif route == InboundMessage.Route.LEAVE:
        lines = ["unsubscribe"]
    else:
        lines = command_lines(message)
    results = run(mailing_list, lines, sender, inbound)
    if route == InboundMessage.Route.REQUEST or not results:
        with translation.override(mailing_list.language):
            reply(mailing_list, sender, results or [("", _("No command found. Send help for the list of commands."))])


def confirm_by_mail(
    mailing_list: MailingList, token: str, message: EmailMessage | None, sender: str, inbound: InboundMessage
) -> None:
    """A reply to a confirmation request (list-confirm+TOKEN@)."""
    with translation.override(mailing_list.language):
        try:
            outcome, _request = subscriptions.confirm(token, origin=_origin(sender, inbound))
            text = _confirmed_text(outcome)
        except PoplistError as exc:
            text = str(exc)
        reply(mailing_list, sender, [(f"confirm {token[:8]}…", text)])


def forward_to_owners(mailing_list: MailingList, raw: bytes) -> None:
    """Mail to list-owner@ goes to the owners as it came (the envelope is the list's bounce address)."""
    owners = list(
        Member.objects.filter(mailing_list=mailing_list, role=Member.Role.OWNER).values_list("email", flat=True)
    )
    if owners:
        queue_message(
            mail_from=mailing_list.role_address("bounces"),
            recipients=owners,
            raw=raw,
            kind="owner_forward",
            tenant=mailing_list.tenant,
            mailing_list=mailing_list,
        )
