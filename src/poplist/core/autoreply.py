"""Recognising automatic replies (vacation, out-of-office, autoresponders).

They are neither posts (never distributed to a list) nor bounces (never scored).
RFC 3834 says `Auto-Submitted`; real software also uses the older headers below.
"""

from __future__ import annotations

import re
from email.message import Message

from poplist.core.mime import header_text

_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort|réponse)|out of (the )?office|absence|abwesenheit|"
    r"r[ée]ponse automatique|vacation|on leave|away from)",
    re.IGNORECASE,
)


def is_auto_reply(message: Message) -> bool:
    auto_submitted = header_text(message, "Auto-Submitted").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if header_text(message, "X-Autoreply") or header_text(message, "X-Autorespond"):
        return True
    precedence = header_text(message, "Precedence").strip().lower()
    if precedence == "auto_reply":
        return True
    # A subject alone is weak evidence ("Vacation photos" is a fine post): it needs a bulk marker too.
    subject_says = bool(_SUBJECT.search(header_text(message, "Subject")))
    return subject_says and (precedence in {"bulk", "junk"} or bool(header_text(message, "X-Auto-Response-Suppress")))
