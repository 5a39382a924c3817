"""What an accepted post becomes: the bytes every member gets, prepared once.

The common case (no footer, no wrapping) works on the raw header block and leaves the
body's bytes alone: the original DKIM signature still verifies when nothing it signs was
changed, and there is no re-serialisation cost. A footer or a wrapped message goes through
the email package. See docs/architecture.md "From inbound to delivery (contract)".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from django.utils import translation
from django.utils.translation import gettext as _

from poplist.core.mime import POLICY, parse_message
from poplist.inbound.listheaders import REPLACED, post_headers
from poplist.inbound.post import Post
from poplist.lists.models import MailingList

SERIALIZE = POLICY.clone(linesep="\r\n")
_REPLY = re.compile(r"^\s*((re|aw|sv|vs|antw|réf|rép)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass
class Prepared:
    raw: bytes  # CRLF line ends, without per-recipient headers
    message: EmailMessage | None  # a parsed form for the archive (None: the archive parses `raw`)


def crlf(raw: bytes) -> bytes:
    if raw.count(b"\n") == raw.count(b"\r\n"):
        return raw
    return re.sub(rb"\r?\n", b"\r\n", raw)


def split(raw: bytes) -> tuple[list[bytes], bytes]:
    """Header fields (each with its continuation lines and CRLF) and the body, from CRLF bytes."""
    if raw.startswith(b"\r\n"):
        return [], raw[2:]
    end = raw.find(b"\r\n\r\n")
    head, body = (raw, b"") if end < 0 else (raw[: end + 2], raw[end + 4 :])
    fields: list[bytes] = []
    for line in head.split(b"\r\n")[:-1] if head.endswith(b"\r\n") else head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += line + b"\r\n"
        else:
            fields.append(line + b"\r\n")
    return fields, body


def field_name(field: bytes) -> str:
    return field.split(b":", 1)[0].strip().decode("ascii", "replace").lower()


def encode_field(name: str, value: str) -> bytes:
    value = _CONTROL.sub(" ", value)
    if value.isascii() and len(value) < 900:
        return f"{name}: {value}\r\n".encode("ascii")
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n".encode("ascii")


def prefixed_subject(subject: str, prefix: str) -> str:
    """'Re: [list] Re: [list] hi' -> '[list] Re: hi': the prefix once, one Re:."""
    prefix = prefix.strip()
    rest = " ".join(subject.replace(prefix, " ").split()) if prefix else subject
    match = _REPLY.match(rest)
    if match:
        rest = "Re: " + rest[match.end() :]
    return f"{prefix} {rest}".strip()


def must_munge(mailing_list: MailingList, author_strict: bool) -> bool:
    mode = mailing_list.dmarc_mitigation
    return mode == MailingList.Dmarc.ALWAYS or (mode == MailingList.Dmarc.WHEN_STRICT and author_strict)


def via_name(post: Post) -> str:
    ml = post.mailing_list
    name = " ".join(_CONTROL.sub(" ", post.from_name or post.from_address.partition("@")[0]).split())
    with translation.override(ml.language):
        return _("%(name)s via %(list)s") % {"name": name, "list": ml.display_name}


def prepare(post: Post, message_id: str, *, author_strict: bool = False) -> Prepared:
    ml = post.mailing_list
    raw = crlf(post.raw)
    fields, body = split(raw)
    munge = must_munge(ml, author_strict) and bool(post.from_address)
    if munge and ml.dmarc_action == MailingList.DmarcAction.WRAP:
        return _wrapped(post, message_id)
    names = [field_name(f) for f in fields]
    kept: list[bytes] = [f for f, n in zip(fields, names, strict=True) if n not in REPLACED]
    changed = False
    if "message-id" not in names:
        kept.append(encode_field("Message-ID", message_id))
    if ml.subject_prefix:
        subject = post.header("Subject")
        new = prefixed_subject(subject, ml.subject_prefix)
        if new != subject:
            kept = [f for f in kept if field_name(f) != "subject"] + [encode_field("Subject", new)]
            changed = True
    if munge:
        original = post.header("From")
        kept = [f for f in kept if field_name(f) not in {"from", "x-original-from"}]
        kept.append(encode_field("From", formataddr((via_name(post), ml.address), charset="utf-8")))
        kept.append(encode_field("X-Original-From", original))
        if "reply-to" not in names and not ml.reply_to_list:
            kept.append(encode_field("Reply-To", original))
        changed = True
    if ml.reply_to_list:
        kept = [f for f in kept if field_name(f) != "reply-to"] + [encode_field("Reply-To", ml.address)]
    if ml.footer:
        changed = True
    if changed:  # the author's signature no longer holds; ours is added by delivery
        kept = [f for f in kept if field_name(f) != "dkim-signature"]
    head = b"".join(encode_field(name, value) for name, value in post_headers(ml, message_id)) + b"".join(kept)
    prepared = head + b"\r\n" + body
    if not ml.footer:
        return Prepared(prepared, None)
    message = parse_message(prepared)
    add_footer(message, ml.footer)
    return Prepared(message.as_bytes(policy=SERIALIZE), message)


def _wrapped(post: Post, message_id: str) -> Prepared:
    """DMARC 'wrap': the original travels untouched inside a message from the list."""
    ml = post.mailing_list
    outer = EmailMessage(policy=POLICY)
    for name, value in post_headers(ml, message_id):
        outer[name] = value
    outer["From"] = formataddr((via_name(post), ml.address), charset="utf-8")
    outer["To"] = ml.address
    subject = post.header("Subject")
    outer["Subject"] = prefixed_subject(subject, ml.subject_prefix) if ml.subject_prefix else subject
    outer["Date"] = post.header("Date") or formatdate()
    outer["Message-ID"] = message_id
    outer["Reply-To"] = ml.address if ml.reply_to_list else post.header("From")
    outer["X-Original-From"] = post.header("From")
    outer.add_attachment(parse_message(crlf(post.raw)), disposition="inline")  # multipart/mixed around it
    if ml.footer:
        add_footer(outer, ml.footer)
    return Prepared(outer.as_bytes(policy=SERIALIZE), outer)


def _cte(text: str) -> str:
    # Never base64 or quoted-printable: delivery's placeholders must stay verbatim and unbroken.
    return "7bit" if text.isascii() else "8bit"


def add_footer(message: EmailMessage, footer: str) -> None:
    """Append to a lone text part; otherwise add a part, wrapping in multipart/mixed. Signed parts keep their bytes."""
    footer = footer.strip("\n") + "\n"
    cte = (message.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if (
        not message.is_multipart()
        and message.get_content_type() == "text/plain"
        and cte in {"7bit", "8bit", "quoted-printable"}
    ):
        try:
            text = message.get_content()
        except Exception:
            text = None
        if text is not None:
            new = text.replace("\r\n", "\n").rstrip("\n") + "\n\n-- \n" + footer
            params = {k: v for k, v in message.get_params() or [] if k.lower() in {"format", "delsp"}}
            message.set_content(new, charset="utf-8", cte=_cte(new), params=params)
            return
    part = EmailMessage(policy=POLICY)
    part.set_content(footer, charset="utf-8", cte=_cte(footer), disposition="inline")
    if message.get_content_type() == "multipart/mixed":
        message.attach(part)
        return
    message.make_mixed()
    message.attach(part)
