"""A command (subscribe, unsubscribe…) sent to the list address by mistake: held, not posted."""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from poplist.inbound.post import Post
from poplist.inbound.rules import Hit

NAME = "administrivia"
_COMMAND = re.compile(
    r"^\s*(subscribe|unsubscribe|join|leave|remove|help|confirm|set|who|signoff|sign-off|"
    r"s'abonner|se d[ée]sabonner|d[ée]sabonnement|abonnement)\b",
    re.IGNORECASE,
)
_MAX_LINES = 5  # a real post that starts with "Subscribe to…" is longer than a command


def check(post: Post) -> Hit | None:
    if not post.mailing_list.administrivia or post.message is None:
        return None
    if _COMMAND.match(post.header("Subject")) and _short_body(post):
        return Hit(_("The message looks like a command (subscribe, unsubscribe…) sent to the list address."))
    lines = _body_lines(post)
    if lines and len(lines) <= _MAX_LINES and _COMMAND.match(lines[0]):
        return Hit(_("The message looks like a command (subscribe, unsubscribe…) sent to the list address."))
    return None


def _body_lines(post: Post) -> list[str]:
    text = post.body()[0][:4000]
    lines = []
    for line in text.splitlines():
        if line.strip() in {"--", "-- "}:
            break
        if line.strip():
            lines.append(line)
    return lines


def _short_body(post: Post) -> bool:
    return len(_body_lines(post)) <= _MAX_LINES
